import RunwayModel
import Synchronization

/// Jobs of attempts that have a runner coming or running, by attempt id: the payload a runner
/// receives when it claims. The controller puts a job here before starting its task; it stays
/// until the attempt ends, so a runner whose claim answer was lost (a failover) can ask again.
/// Read inside the claim's store transaction, so the mutex guards it, not an actor.
public final class HoldingSet: Sendable {
    private let held = Mutex<[String: ClaimedJob]>([:])
    /// The tokens their runners call with.
    public let tokens = TaskTokens()

    public init() {}

    public func hold(_ job: ClaimedJob) { held.withLock { $0[job.attemptID] = job } }

    public func peek(attemptID: String) -> ClaimedJob? { held.withLock { $0[attemptID] } }

    /// Drops every held job of `attemptIDs` (attempts that ended).
    public func release(attempts attemptIDs: Set<String>) {
        held.withLock { held in
            for id in attemptIDs { held[id] = nil }
        }
    }

    public func holdOnly(_ jobs: [ClaimedJob]) {
        let fresh = Dictionary(jobs.map { ($0.attemptID, $0) }, uniquingKeysWith: { _, last in last })
        held.withLock { $0 = fresh }
    }

    public var count: Int { held.withLock { $0.count } }

    public func allowToken(hash: String, attemptID: String) { tokens.allow(hash: hash, attemptID: attemptID) }

    public func replaceTokens(with hashes: [String: String], readStartedAt: ContinuousClock.Instant) {
        tokens.replace(with: hashes, readStartedAt: readStartedAt)
    }
}
