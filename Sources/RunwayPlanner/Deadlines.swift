import Foundation
import RunwayModel

/// When the next time-based decision falls due (a backoff ends, a start timeout, a job timeout,
/// a heartbeat deadline, a schedule's tick), so the controller can sleep until then instead of polling.
public enum Deadlines {
    public static func next(
        desired: DesiredState, records: [JobRecord], heartbeatTimeout: Duration, reachableSince: Date = .distantPast
    ) -> Date? {
        var earliest: Date?
        func consider(_ date: Date?) {
            guard let date else { return }
            if earliest.map({ date < $0 }) ?? true { earliest = date }
        }
        for record in records where !record.state.isTerminal {
            guard let job = desired.jobs[record.job], job.generation == record.generation else { continue }
            switch record.state {
            case .pending where record.awaitsTick:
                // The tick that makes the run due (the run queue takes it up in that pass).
                if let schedule = job.spec.schedule, !schedule.suspend { consider(schedule.next(after: record.scheduledAfter!)) }
            case .pending:
                consider(record.nextAttemptAt)
            case .held:
                let timeout = desired.profiles[record.profile]?.startTimeout ?? RunnerProfile.defaultStartTimeout
                consider(record.heldSince.map { max($0, reachableSince) + timeout.timeInterval })
            case .running:
                consider(zip(record.runningSince, job.spec.timeout).map { $0 + $1.timeInterval })
                consider((record.lastHeartbeatAt ?? record.runningSince).map { max($0, reachableSince) + heartbeatTimeout.timeInterval })
            case .succeeded, .failed, .cancelled:
                break
            }
        }
        return earliest
    }
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
