import Foundation
import RunwayModel

extension Pass {
    /// What to do for one desired job: start its next attempt, wait, or nothing.
    mutating func action(for job: Job) -> PlanAction? {
        guard !jobsWithLiveTask.contains(job.name) else { return nil }
        let record = records[JobKey(job: job.name, generation: job.generation)]
        let reason: StartReason
        let attempt: Int
        switch record?.state {
        case nil:
            attempt = 1
            if let previous = latestRecord[job.name], previous.generation != job.generation {
                reason = .specChanged(previous: previous.generation)
            } else {
                reason = .new
            }
        case .pending:
            let record = record!
            if let until = record.nextAttemptAt, until > now {
                return .wait(.init(job: job.name, profile: job.profile, reason: .backoff(until: until)))
            }
            attempt = record.attempt + 1
            reason = record.attempt == 0 ? .new : .retry(previousAttempt: record.attempt)
        case .held:
            // Recorded but its task is missing. Within the start timeout, start the same attempt
            // again: the name is deterministic, so a task that does exist is adopted, and the
            // one-time token means its job can still be claimed only once. Past it, the
            // controller's settlement fails the attempt.
            let record = record!
            guard !isPastStartTimeout(record, profile: job.profile) else { return nil }
            attempt = record.attempt
            reason = .resume
        case .running, .succeeded, .failed, .cancelled:
            // Running without a live task is settled as task-lost by the controller; the
            // others are finished for good.
            return nil
        }
        let live = liveByProfile[job.profile, default: 0]
        if let limit = desired.profiles[job.profile]?.maxConcurrent, live >= limit {
            return .wait(.init(job: job.name, profile: job.profile, reason: .maxConcurrent(live: live, limit: limit)))
        }
        liveByProfile[job.profile] = live + 1
        return .start(
            .init(job: job.name, profile: job.profile, generation: job.generation, attempt: attempt, reason: reason))
    }
}
