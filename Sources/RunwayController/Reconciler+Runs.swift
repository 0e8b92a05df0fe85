import Foundation
import RunwayModel
import RunwayPlanner
import RunwayStore

extension Reconciler {
    /// Writes the runs the run queue decides on (new generations, reruns, a changed `rerun`
    /// field, dependencies that ran again, schedule ticks) and takes up operators' requests,
    /// then compacts finished runs beyond their job's history limit or the history retention. New runs, their events and
    /// the requests taken up go in one transaction, so a request is never taken up twice; a run
    /// that ends (cancelled) is written only if it is still open, in its own transaction, so a
    /// report that landed since this pass read it is never overwritten.
    /// `compacting: false` (a focused pass) leaves the history retention to the next full pass,
    /// the only one that sees every finished run.
    func queueRuns(
        desired: DesiredState, records: [JobRecord], requests: [JobRequest], now: Date, followsTicks: Bool, compacting: Bool
    ) async throws {
        let changes = RunQueue().queue(
            desired: desired, records: records, requests: requests, now: now, followsTicks: followsTicks,
            retention: compacting ? configuration.historyRetention : nil)
        if changes.isEmpty && changes.compact.isEmpty { return }
        let before = Dictionary(records.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var ending: [JobRecord] = []
        var change = StoreChange()
        change.requests = changes.handled
        for record in changes.records {
            if let previous = before[record.key], record.state == .cancelled, previous.state != .pending {
                ending.append(record)  // a run that may have a runner: ended below, if still open
            } else {
                change.records.append(record)
            }
        }
        // A run that ends gets its events with it, written only if it does end.
        let endingKeys = Set(ending.map(\.key))
        func key(_ event: JobEvent) -> JobKey { JobKey(job: event.job, generation: event.generation, run: event.run) }
        change.events = changes.events.filter { !endingKeys.contains(key($0)) }
        try await store.apply(fenced(change))
        for record in ending { try await end(record, events: changes.events.filter { key($0) == record.key }, now: now) }
        if !changes.compact.isEmpty {
            try await store.compact(changes.compact)
            logger.info("compacted finished runs beyond their job's history limit or retention", metadata: [
                "runs": "\(changes.compact.count)", "first": "\(changes.compact[0])",
            ])
        }
        try await recordBook.read(from: store)
    }

    /// Ends an open run as `cancelled` (its attempt fails with the same reason) unless it ended
    /// on its own since the pass read it; its task is stopped by the plan (`cancelled`).
    private func end(_ cancelled: JobRecord, events: [JobEvent], now: Date) async throws {
        let authority = self.authority
        let ended: String? = try await store.modify(.job(cancelled.key)) { attempt, record in
            guard let record, !record.state.isTerminal else { return (StoreChange(), nil) }
            var next = Lifecycle.cancelled(record, reason: cancelled.lastReason ?? "cancelled", now: now)
            next.origin = record.origin
            var change = StoreChange(records: [next], events: events, fence: authority)
            var endedID: String?
            if var attempt, attempt.number == record.attempt, attempt.isOpen {
                attempt.state = .failed
                attempt.reason = next.lastReason
                change.attempts.append(attempt)
                endedID = attempt.id
            }
            return (change, endedID)
        }
        if let ended { holding.release(attempts: [ended]) }
    }
}
