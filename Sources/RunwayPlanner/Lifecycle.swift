import Foundation
import RunwayModel

/// The job record state machine, pure: every transition a record can make, in one place, used
/// by the controller, the runner API and the tests alike.
public enum Lifecycle {
    /// A run queued (a generation's first, or a further one): pending, no attempt yet.
    public static func queued(_ job: Job, run: Int = 1, now: Date) -> JobRecord {
        var record = JobRecord(
            job: job.name, generation: job.generation, profile: job.profile, state: .pending, attempt: 0, createdAt: now, run: run)
        record.rerunToken = job.spec.rerun
        return record
    }

    /// A start was requested for `attempt`: the job waits in the holding set for its runner. A
    /// resume of an attempt already held keeps the time it was first held: its `startTimeout`
    /// runs from there, not from each resume.
    public static func held(_ record: JobRecord, attempt: Int, now: Date) -> JobRecord {
        var next = record
        let resumed = record.state == .held && record.attempt == attempt
        next.state = .held
        next.attempt = attempt
        if record.isBlocked { next.lastReason = nil }
        next.heldSince = resumed ? (record.heldSince ?? now) : now
        next.runningSince = nil
        next.lastHeartbeatAt = nil
        next.nextAttemptAt = nil
        next.updatedAt = now
        return next
    }

    /// The runner connected and took the job.
    public static func running(_ record: JobRecord, now: Date) -> JobRecord {
        var next = record
        next.state = .running
        next.runningSince = now
        next.lastHeartbeatAt = now
        next.updatedAt = now
        return next
    }

    /// The runner reported the command's end.
    public static func completed(
        _ record: JobRecord, retries: Int, report: CompletionReport, now: Date, backoff: Backoff, jitter: Double
    ) -> JobRecord {
        guard report.exitCode == 0 else {
            let reason = report.reason ?? report.exitCode.map { "exit code \($0)" } ?? "failed"
            var next = failed(record, retries: retries, reason: reason, now: now, backoff: backoff, jitter: jitter)
            next.exitCode = report.exitCode
            return next
        }
        var next = record
        next.state = .succeeded
        next.exitCode = 0
        next.lastReason = "exit code 0"
        next.updatedAt = now
        return next
    }

    /// The current attempt failed for `reason`: pending again after a backoff while retries
    /// last, else failed for good.
    public static func failed(
        _ record: JobRecord, retries: Int, reason: String, now: Date, backoff: Backoff, jitter: Double
    ) -> JobRecord {
        var next = record
        next.lastReason = "attempt \(record.attempt): \(reason)"
        next.exitCode = nil
        next.updatedAt = now
        if record.attempt <= retries {
            next.state = .pending
            next.nextAttemptAt = now + backoff.delay(afterAttempt: record.attempt, jitter: jitter)
        } else {
            next.state = .failed
        }
        return next
    }

    public static func cancelled(_ record: JobRecord, reason: String, now: Date) -> JobRecord {
        var next = record
        next.state = .cancelled
        next.lastReason = reason
        next.updatedAt = now
        return next
    }
}
