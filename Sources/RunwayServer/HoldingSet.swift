import RunwayModel
import Synchronization

/// Jobs of attempts that have a runner coming or running, by attempt id: the payload a runner
/// receives when it claims. The controller puts a job here before starting its task; it stays
/// until the attempt ends, so a runner whose claim answer was lost (a failover) can ask again.
/// Read inside the claim's store transaction, so the mutex guards it, not an actor.
public final class HoldingSet: Sendable {
    /// Each held job, with when it was held and whether its runner is known to run it here.
    private let held = Mutex<[String: Held]>([:])

    struct Held {
        var job: ClaimedJob
        var since: ContinuousClock.Instant
        /// The token hash of its runner, once that runner claimed it here or the store confirmed
        /// it runs with that token: then its heartbeats need no store read.
        var claimedBy: String?
    }
    /// The tokens their runners call with.
    public let tokens = TaskTokens()

    public init() {}

    public func hold(_ job: ClaimedJob) { held.withLock { $0[job.attemptID] = Held(job: job, since: .now) } }

    /// The runner with the token `tokenHash` runs the held attempt (it claimed here, or the
    /// store said so). Only that token: a resumed attempt's other token stays refused.
    public func markClaimed(attemptID: String, tokenHash: String) { held.withLock { $0[attemptID]?.claimedBy = tokenHash } }

    /// Whether `attemptID` is held and run by the runner with the token `tokenHash`.
    public func isClaimed(attemptID: String, tokenHash: String) -> Bool { held.withLock { $0[attemptID]?.claimedBy == tokenHash } }

    public func peek(attemptID: String) -> ClaimedJob? { held.withLock { $0[attemptID]?.job } }

    /// Drops every held job of `attemptIDs` (attempts that ended).
    public func release(attempts attemptIDs: Set<String>) {
        held.withLock { held in
            for id in attemptIDs { held[id] = nil }
        }
    }

    /// Holds exactly `jobs`, as a pass read them from the store starting at `readStartedAt`,
    /// and keeps every job held since then: a start still in flight holds its job before its
    /// task starts, and its runner's claim must find it even though the pass's read missed it.
    public func holdOnly(attempts: [String], readStartedAt: ContinuousClock.Instant, job: (String) -> ClaimedJob?) {
        held.withLock { held in
            var fresh = held.filter { $0.value.since >= readStartedAt }
            for id in attempts where fresh[id] == nil {
                // An attempt's job never changes (its id names the generation): one held stays.
                if let kept = held[id] {
                    fresh[id] = kept
                } else if let job = job(id) {
                    fresh[id] = Held(job: job, since: .now)
                }
            }
            held = fresh
        }
    }

    /// ``holdOnly(attempts:readStartedAt:job:)`` with the jobs made already.
    public func holdOnly(_ jobs: [ClaimedJob], readStartedAt: ContinuousClock.Instant) {
        let byAttempt = Dictionary(jobs.map { ($0.attemptID, $0) }, uniquingKeysWith: { a, _ in a })
        holdOnly(attempts: jobs.map(\.attemptID), readStartedAt: readStartedAt) { byAttempt[$0] }
    }

    public var count: Int { held.withLock { $0.count } }

    public func allowToken(hash: String, attemptID: String) { tokens.allow(hash: hash, attemptID: attemptID) }

    public func replaceTokens(with hashes: [String: String], readStartedAt: ContinuousClock.Instant) {
        tokens.replace(with: hashes, readStartedAt: readStartedAt)
    }

    public func tokensMayBeStale() { tokens.invalidate() }

    public var tokensLoaded: Bool { tokens.isLoaded }
}
