import Foundation
import RunwayModel

/// What the observed world says about job records, applied before each plan and after each
/// stop: attempts whose task vanished, timed out or was removed end with a named reason, and
/// records of removed or replaced jobs are cancelled. Pure: records in, changed records out.
public struct Settlement: Sendable {
    public var backoff: Backoff
    /// Since when runners could reach the controller (see ``Planner/reachableSince``).
    public var reachableSince: Date

    public init(backoff: Backoff = Backoff(), reachableSince: Date = .distantPast) {
        self.backoff = backoff
        self.reachableSince = reachableSince
    }

    /// Records that change because of what is (or is not) observed. `starting` are the tasks
    /// whose start is still being carried out: not listed yet, they exist all the same (a runner
    /// may connect before its start returns), so their attempts are not lost; they are not
    /// adopted either (the start records its own attempt).
    public func settle(
        desired: DesiredState, observed: [ObservedTask], starting: [ObservedTask] = [], records: [JobRecord], now: Date,
        jitter: () -> Double
    ) -> [JobRecord] {
        var attemptsWithTask = Set(starting.compactMap { $0.owner.map(AttemptKey.init) })
        var liveAttempt: [JobKey: Int] = [:]
        for task in observed {
            guard let owner = task.owner else { continue }
            attemptsWithTask.insert(AttemptKey(owner))
            if task.state != .exited {
                let key = owner.key
                liveAttempt[key] = max(liveAttempt[key] ?? 0, owner.attempt)
            }
        }
        var current = Dictionary(records.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var changed = Set<JobKey>()
        // A live task of the current generation that its record does not know of (the record
        // was lost, or written behind): adopt it, so it is neither started twice nor orphaned.
        for (key, attempt) in liveAttempt {
            guard let job = desired.jobs[key.job], job.generation == key.generation else { continue }
            let record = current[key]
            guard record == nil || (!record!.state.isTerminal && record!.attempt < attempt) else { continue }
            current[key] = Lifecycle.held(record ?? Lifecycle.queued(job, run: key.run, now: now), attempt: attempt, now: now)
            changed.insert(key)
        }
        for (key, record) in current where !record.state.isTerminal {
            if let next = settled(record, desired: desired, hasTask: attemptsWithTask.contains(AttemptKey(record)), now: now, jitter: jitter) {
                current[key] = next
                changed.insert(key)
            }
        }
        return changed.sorted().map { current[$0]! }
    }

    private func settled(_ record: JobRecord, desired: DesiredState, hasTask: Bool, now: Date, jitter: () -> Double)
        -> JobRecord?
    {
        guard let job = desired.jobs[record.job] else {
            return Lifecycle.cancelled(record, reason: "job removed from the manifests", now: now)
        }
        guard job.generation == record.generation else {
            return Lifecycle.cancelled(record, reason: "superseded by generation \(job.generation.short)", now: now)
        }
        switch record.state {
        case .running where !hasTask:
            return Lifecycle.failed(
                record, retries: job.spec.retries, reason: "task-lost (its task disappeared)", now: now, backoff: backoff,
                jitter: jitter())
        case .held where !hasTask:
            let timeout = desired.profiles[record.profile]?.startTimeout ?? RunnerProfile.defaultStartTimeout
            guard let since = record.heldSince, now >= max(since, reachableSince) + timeout.timeInterval else { return nil }
            return Lifecycle.failed(
                record, retries: job.spec.retries, reason: startTimeoutReason(timeout), now: now, backoff: backoff,
                jitter: jitter())
        default:
            return nil
        }
    }

    /// The record with the platform's own word on a finished task (`OOMKilled`) added to the
    /// reason its runner reported, while the record still speaks of that attempt's failure.
    public func withPlatformReason(_ stop: PlanAction.Stop, record: JobRecord?) -> JobRecord? {
        guard stop.reason == .finished, let platform = stop.task.reason, let record, let owner = stop.task.owner,
            owner.key == record.key, owner.attempt == record.attempt,
            record.state == .failed || record.state == .pending, let reason = record.lastReason, !reason.contains(platform)
        else { return nil }
        var next = record
        next.lastReason = "\(reason) (\(platform))"
        return next
    }

    /// The record after `stop` was carried out, or nil when the stop does not concern it (an
    /// orphan, an older attempt, a record already final).
    public func afterStop(_ stop: PlanAction.Stop, record: JobRecord?, desired: DesiredState, now: Date, jitter: Double)
        -> JobRecord?
    {
        guard let record, !record.state.isTerminal, let owner = stop.task.owner,
            owner.key == record.key, owner.attempt == record.attempt
        else { return nil }
        let retries = desired.jobs[record.job]?.spec.retries ?? 0
        func fail(_ reason: String) -> JobRecord {
            Lifecycle.failed(record, retries: retries, reason: reason, now: now, backoff: backoff, jitter: jitter)
        }
        switch stop.reason {
        case .startTimeout:
            let timeout = desired.profiles[record.profile]?.startTimeout ?? RunnerProfile.defaultStartTimeout
            return fail(startTimeoutReason(timeout))
        case .timedOut:
            let limit = desired.jobs[record.job]?.spec.timeout.map { "its \($0.manifestDescription) timeout" } ?? "its timeout"
            return fail("timed-out (ran longer than \(limit))")
        case .heartbeatLost:
            return fail("heartbeat-lost (no word from its runner)")
        case .finished:
            guard record.state == .held || record.state == .running else { return nil }
            let code = stop.task.exitCode.map { " with code \($0)" } ?? ""
            let platform = stop.task.reason.map { ", \($0)" } ?? ""
            // The task ended with no report from its runner: lost, whoever ended it.
            return fail("task-lost (its task exited\(code)\(platform) before its runner reported)")
        case .jobRemoved:
            return Lifecycle.cancelled(record, reason: "job removed from the manifests", now: now)
        case .superseded, .orphaned, .cancelled:
            return nil
        }
    }

    private func startTimeoutReason(_ timeout: Duration) -> String {
        "start-timeout (runner did not connect within \(timeout.manifestDescription))"
    }
}

/// One attempt of one run of one job.
struct AttemptKey: Hashable {
    var run: JobKey
    var attempt: Int

    init(_ owner: TaskOwner) {
        run = owner.key
        attempt = owner.attempt
    }

    init(_ record: JobRecord) {
        run = record.key
        attempt = record.attempt
    }
}
