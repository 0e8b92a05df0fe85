import Foundation
import Synchronization

/// Heartbeats noted in memory and written in batches: a heartbeat of a runner known to run its
/// attempt costs no store call. The latest time per attempt is kept; a write takes them all in
/// one transaction (``RunwayStore/StateStore/recordHeartbeats(_:)``), at most `flushInterval`
/// after the first one noted, and before every pass. The store does not count a heartbeat as a
/// record change, so the heartbeats written are kept for the controller's record book too
/// (``RunnerService/takeWrittenHeartbeats()``), and the planner judges heartbeat loss on what
/// the store holds. A write that fails puts its heartbeats back for the next.
public final class HeartbeatBook: Sendable {
    let flushInterval: Duration
    private let state = Mutex<State>(State())

    private struct State {
        var pending: [String: Date] = [:]
        var flushScheduled = false
        /// Written since the controller last took them (one entry per live attempt at most).
        var written: [String: Date] = [:]
    }

    init(flushInterval: Duration) {
        self.flushInterval = flushInterval
    }

    /// Notes a heartbeat, and makes sure a write follows within the flush interval.
    func note(attemptID: String, at time: Date, service: RunnerService) {
        let schedule = state.withLock { state in
            state.pending[attemptID] = max(state.pending[attemptID] ?? time, time)
            defer { state.flushScheduled = true }
            return !state.flushScheduled
        }
        guard schedule else { return }
        let interval = flushInterval
        Task {
            try? await Task.sleep(for: interval)
            do {
                try await service.flushHeartbeats()
            } catch {
                service.logger.warning("could not write heartbeats; they wait for the next write", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The heartbeats noted since the last take (the next note schedules a write again).
    func take() -> [String: Date] {
        state.withLock { state in
            defer {
                state.pending = [:]
                state.flushScheduled = false
            }
            return state.pending
        }
    }

    /// Puts back heartbeats a write could not record (newer ones noted meanwhile win).
    func restore(_ beats: [String: Date]) {
        state.withLock { state in state.pending.merge(beats) { max($0, $1) } }
    }

    /// Notes heartbeats the store has taken, for ``takeWritten()``.
    func written(_ beats: [String: Date]) {
        state.withLock { state in state.written.merge(beats) { max($0, $1) } }
    }

    /// The heartbeats written since the last take.
    func takeWritten() -> [String: Date] {
        state.withLock { state in
            defer { state.written = [:] }
            return state.written
        }
    }

    /// Heartbeats waiting to be written.
    public var pendingCount: Int { state.withLock { $0.pending.count } }
}

extension RunnerService {
    /// Writes every heartbeat noted in memory, in one transaction.
    public func flushHeartbeats() async throws {
        let beats = heartbeats.take()
        guard !beats.isEmpty else { return }
        do {
            try await store.recordHeartbeats(beats)
            heartbeats.written(beats)
        } catch {
            heartbeats.restore(beats)
            throw error
        }
    }

    /// The heartbeats written since the last call (attempt id → latest time): the store does not
    /// count them as record changes, so the controller notes them on its records itself.
    public func takeWrittenHeartbeats() -> [String: Date] {
        heartbeats.takeWritten()
    }
}
