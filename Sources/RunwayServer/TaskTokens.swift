import RunwayModel
import Synchronization

/// The task tokens this controller takes runner calls with, by hash: the current and kept tokens
/// of every attempt that is open or completed within the grace. A call whose token is not here is
/// refused before its body is read and before the store is touched, so random tokens cost a hash
/// and a dictionary lookup, never a transaction. The store still checks every call it lets
/// through; this is only the cheap first gate.
///
/// The controller reloads the whole set from the store every pass (``replace(with:readStartedAt:)``)
/// and adds each token it issues as it issues it (``allow(hash:attemptID:)``), so a runner's
/// first call never waits for a pass. Until the first load the set knows nothing, and says so:
/// a call then gets 503 and is retried, not refused; the same after each change of leadership
/// term (``invalidate()``), until the new term's first load.
public final class TaskTokens: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// The token belongs to this attempt.
        case known(attemptID: String)
        /// No live attempt has this token.
        case unknown
        /// Not loaded from the store yet: nobody can tell.
        case notLoaded
    }

    private struct State {
        var byHash: [String: String] = [:]
        var loaded = false
        /// When the set was last invalidated: a load whose read began before does not count.
        var invalidatedAt: ContinuousClock.Instant?
        /// Tokens allowed since, with when: a reload whose read began before one keeps it.
        var recent: [String: (attemptID: String, at: ContinuousClock.Instant)] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// A token just issued (or kept) for `attemptID`.
    public func allow(hash: String, attemptID: String) {
        let now = ContinuousClock.now
        state.withLock { state in
            state.byHash[hash] = attemptID
            state.recent[hash] = (attemptID, now)
        }
    }

    /// Replaces the set with what the store holds, read from `readStartedAt` on; tokens allowed
    /// after that instant stay (the read may have missed them).
    public func replace(with snapshot: [String: String], readStartedAt: ContinuousClock.Instant) {
        state.withLock { state in
            state.recent = state.recent.filter { $0.value.at >= readStartedAt }
            state.byHash = snapshot
            for (hash, allowed) in state.recent { state.byHash[hash] = allowed.attemptID }
            state.loaded = state.invalidatedAt.map { readStartedAt >= $0 } ?? true
        }
    }

    /// The set may be out of date: this controller's leadership began or ended (another may
    /// have issued tokens meanwhile). Until the next ``replace(with:readStartedAt:)`` a token not
    /// in the set is `notLoaded` (503, retried), never refused: a runner started by the last
    /// leader must not be turned away by a set read before its token existed.
    public func invalidate() {
        let now = ContinuousClock.now
        state.withLock { state in
            state.loaded = false
            state.invalidatedAt = now
        }
    }

    /// Whether the set was loaded since it was last invalidated.
    public var isLoaded: Bool { state.withLock { $0.loaded } }

    public func verdict(token: String) -> Verdict {
        let hash = TaskToken.hash(token)
        return state.withLock { state in
            if let attemptID = state.byHash[hash] { return .known(attemptID: attemptID) }
            return state.loaded ? .unknown : .notLoaded
        }
    }

    public var count: Int { state.withLock { $0.byHash.count } }
}
