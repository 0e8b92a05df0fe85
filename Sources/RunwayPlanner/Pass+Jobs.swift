import Foundation
import RunwayModel

extension Pass {
    /// What to do for one desired job: for each of its open runs, start its next attempt, wait,
    /// or nothing.
    mutating func actions(for job: Job) -> [PlanAction] {
        var actions: [PlanAction] = []
        var earlierOpen: Int?
        for record in index.current[job.name] ?? [] where !record.state.isTerminal {
            if record.awaitsTick {
                if let schedule = job.spec.schedule {
                    let reason: WaitReason = schedule.suspend ? .suspended : schedule.next(after: record.scheduledAfter!).map { .schedule(next: $0) } ?? .suspended
                    actions.append(.wait(.init(job: job.name, profile: job.profile, reason: reason, run: record.run)))
                }
                continue
            }
            defer { if earlierOpen == nil { earlierOpen = record.run } }
            guard !runsWithLiveTask.contains(record.key) else { continue }
            if let action = action(for: job, record: record, earlierOpen: earlierOpen) { actions.append(action) }
        }
        return actions
    }

    /// What to do for one open run of a job.
    private mutating func action(for job: Job, record: JobRecord, earlierOpen: Int?) -> PlanAction? {
        func wait(_ reason: WaitReason) -> PlanAction {
            .wait(.init(job: job.name, profile: job.profile, reason: reason, run: record.run))
        }
        let reason: StartReason
        let attempt: Int
        switch record.state {
        case .pending:
            if let until = record.nextAttemptAt, until > now { return wait(.backoff(until: until)) }
            if let earlierOpen, job.spec.schedule?.concurrencyPolicy != .allow { return wait(.previousRun(run: earlierOpen)) }
            if let unmet = index.unmetDependency(of: job) {
                return wait(unmet.blocked ? .blocked(job: unmet.job, status: unmet.status) : .dependency(job: unmet.job, status: unmet.status))
            }
            attempt = record.attempt + 1
            if record.attempt > 0 {
                reason = .retry(previousAttempt: record.attempt)
            } else if record.run > 1 || record.origin != nil {
                reason = .newRun(run: record.run, origin: record.origin ?? "queued")
            } else if let previous = previousGeneration[job.name] {
                reason = .specChanged(previous: previous.generation)
            } else {
                reason = .new
            }
        case .held:
            // Recorded but its task is missing. Within the start timeout, start the same attempt
            // again: the name is deterministic, so a task that does exist is adopted, and the
            // one-time token means its job can still be claimed only once. Past it, the
            // controller's settlement fails the attempt.
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
            return wait(.maxConcurrent(live: live, limit: limit))
        }
        liveByProfile[job.profile] = live + 1
        return .start(.init(
            job: job.name, profile: job.profile, generation: job.generation, run: record.run, attempt: attempt, reason: reason,
            upstream: record.state == .held ? record.upstream : index.upstream(of: job)))
    }
}
