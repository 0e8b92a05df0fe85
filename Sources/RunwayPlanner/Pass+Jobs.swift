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
        case .held, .running, .succeeded, .failed, .cancelled:
            // In flight without a live task (the controller settles the attempt when it
            // observes that), or finished for good.
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
