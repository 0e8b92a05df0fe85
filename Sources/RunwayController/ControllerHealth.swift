import Foundation
import RunwayModel
import Synchronization

/// What `/readyz` and `runway status` say about the controller: leader or standby, whether the
/// store answers, and whether the last load of the manifests was valid.
public final class ControllerHealth: Sendable {
    private struct State {
        var leader = false
        var leaderName: String?
        var loadedOnce = false
        var errors: [Diagnostic] = []
        var lastGoodAt: Date?
        /// The desired state of the last valid load: the one in force.
        var desired: DesiredState?
        /// Why the store did not answer the last lease renewal; nil when it did.
        var storeProblem: String?
    }

    /// The mutex guards the state.
    private let state = Mutex(State())

    public init() {}

    public func leadership(isLeader: Bool, leader: String?) {
        state.withLock {
            $0.leader = isLeader
            $0.leaderName = leader
        }
    }

    /// The store answered the last lease renewal (nil), or this is why it did not.
    public func store(problem: String?) {
        state.withLock { $0.storeProblem = problem }
    }

    public func loaded(_ diagnostics: [Diagnostic], desired: DesiredState? = nil, at now: Date) {
        state.withLock {
            $0.loadedOnce = true
            $0.errors = diagnostics.filter { $0.severity == .error }
            if $0.errors.isEmpty {
                $0.lastGoodAt = now
                if let desired { $0.desired = desired }
            }
        }
    }

    /// The desired state in force: that of the last valid manifests.
    public var desired: DesiredState? { state.withLock { $0.desired } }

    /// Ready when the store answers and the manifests last loaded valid; the detail says the
    /// role and any problem. It is served without authentication, so of the manifests it tells
    /// only the number of errors and the first one's place and code, never a message (messages
    /// quote the values they reject).
    public var readiness: (ready: Bool, detail: String) {
        state.withLock { state in
            let role = state.leader ? "leader" : "standby\(state.leaderName.map { " (leader: \($0))" } ?? "")"
            if let problem = state.storeProblem {
                return (false, "store unreachable: \(problem); starting nothing until it answers")
            }
            guard state.loadedOnce else { return (false, "starting: manifests not loaded yet") }
            guard state.errors.isEmpty else {
                let since = state.lastGoodAt.map { "; running on the last good manifests, loaded \($0.formatted(.iso8601))" } ?? ""
                let first = state.errors[0]
                return (false, "\(role): manifests invalid: \(state.errors.count) error(s), first: \(first.location) (\(first.code))\(since)")
            }
            return (true, "\(role): manifests valid")
        }
    }

    public var manifestErrors: Int { state.withLock { $0.errors.count } }
}
