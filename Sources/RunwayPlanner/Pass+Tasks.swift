import Foundation
import RunwayModel

extension Pass {
    /// Why `task` should be stopped, or nil when it is a live task that should keep running.
    func stopReason(for task: ObservedTask) -> StopReason? {
        guard let owner = task.owner else { return .orphaned }
        guard let job = desired.jobs[owner.job] else {
            return index.byJob[owner.job] != nil ? .jobRemoved : .orphaned
        }
        guard owner.generation == job.generation else { return .superseded }
        guard let record = records[owner.key] else {
            // A task of the current generation with no record: a start whose record was lost
            // (controller crash). Adopt it; it counts as the job's live task.
            return task.state == .exited ? .finished : nil
        }
        if owner.attempt < record.attempt { return .superseded }
        if record.state == .cancelled && task.state != .exited { return .cancelled }
        if record.state.isTerminal || task.state == .exited { return .finished }
        if owner.attempt > record.attempt { return nil }  // started, record not yet written: adopt
        switch record.state {
        case .held:
            if isPastStartTimeout(record, profile: owner.profile) { return .startTimeout }
        case .running:
            if let limit = job.spec.timeout, let since = record.runningSince, now >= since + limit.timeInterval {
                return .timedOut
            }
            if let heard = record.lastHeartbeatAt ?? record.runningSince, now >= max(heard, reachableSince) + heartbeatTimeout.timeInterval {
                return .heartbeatLost
            }
        case .pending:
            // The record went back to pending (attempt failed) but its task lingers.
            return .finished
        case .succeeded, .failed, .cancelled:
            return .finished
        }
        return nil
    }

    /// Whether a held attempt's runner has had its whole `startTimeout` to connect.
    func isPastStartTimeout(_ record: JobRecord, profile: String) -> Bool {
        let timeout = desired.profiles[profile]?.startTimeout ?? RunnerProfile.defaultStartTimeout
        guard let since = record.heldSince else { return false }
        return now >= max(since, reachableSince) + timeout.timeInterval
    }

    /// Counts a task that stays: it holds a slot of its profile and stands for its job's attempt.
    mutating func countLive(_ task: ObservedTask) {
        guard let owner = task.owner else { return }
        liveByProfile[owner.profile, default: 0] += 1
        runsWithLiveTask.insert(owner.key)
    }
}
