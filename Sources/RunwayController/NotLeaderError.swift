import Foundation
import RunwayStore

/// Another controller holds the lease on this state.
public struct NotLeaderError: Error, CustomStringConvertible {
    public var leader: Lease?

    public var description: String {
        guard let leader else { return "another controller leads this state" }
        return "another controller (\(leader.holder)) leads this state until \(leader.expiresAt.formatted(.iso8601))"
    }
}
