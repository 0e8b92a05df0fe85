import Foundation
import RunwayModel

/// The pure diff at the heart of reconciliation: what should exist (desired), what does
/// (observed tasks), what happened before (job records) and the time, in; a sorted ``Plan`` out.
/// It does no I/O and keeps no state: the same inputs give the same plan.
///
/// Work is linear in tasks + jobs + records (dictionary lookups), plus sorting the plan.
public struct Planner: Sendable {
    /// A running attempt whose runner has not been heard from for this long is stopped
    /// (`heartbeat-lost`). Default 30 seconds.
    public var heartbeatTimeout: Duration
    /// Since when runners could reach the controller (it leads, or it started): no runner is
    /// judged silent, or late to connect, for time before that, when it had no one to talk to.
    public var reachableSince: Date

    public init(heartbeatTimeout: Duration = .seconds(30), reachableSince: Date = .distantPast) {
        self.heartbeatTimeout = heartbeatTimeout
        self.reachableSince = reachableSince
    }

    public func plan(desired: DesiredState, observed: [ObservedTask], records: [JobRecord], now: Date) -> Plan {
        var pass = Pass(desired: desired, records: records, now: now, heartbeatTimeout: heartbeatTimeout, reachableSince: reachableSince)
        var actions: [PlanAction] = []
        for task in observed {
            if let reason = pass.stopReason(for: task) {
                actions.append(.stop(.init(task: task, reason: reason)))
            } else {
                pass.countLive(task)
            }
        }
        for name in desired.jobs.keys.sorted() {
            if let action = pass.action(for: desired.jobs[name]!) {
                actions.append(action)
            }
        }
        return Plan(actions: actions)
    }
}

/// One planning pass: indexes built once, then one decision per task and per job.
struct Pass {
    let desired: DesiredState
    let now: Date
    let heartbeatTimeout: Duration
    let reachableSince: Date
    /// The record of each job generation.
    let records: [JobKey: JobRecord]
    /// Job names that have any record: a task of such a job that left the directory was removed.
    let jobsWithRecords: Set<String>
    /// The most recently updated record per job name, for "spec changed" reasons.
    let latestRecord: [String: JobRecord]
    /// Jobs (current generation) that have a live task that is not being stopped.
    var jobsWithLiveTask: Set<String> = []
    /// Live tasks per profile, for `maxConcurrent`.
    var liveByProfile: [String: Int] = [:]

    init(desired: DesiredState, records: [JobRecord], now: Date, heartbeatTimeout: Duration, reachableSince: Date) {
        self.desired = desired
        self.now = now
        self.heartbeatTimeout = heartbeatTimeout
        self.reachableSince = reachableSince
        var byKey: [JobKey: JobRecord] = [:]
        var latest: [String: JobRecord] = [:]
        byKey.reserveCapacity(records.count)
        for record in records {
            byKey[record.key] = record
            if let other = latest[record.job],
                (other.updatedAt, other.generation) >= (record.updatedAt, record.generation)
            { continue }
            latest[record.job] = record
        }
        self.records = byKey
        self.latestRecord = latest
        self.jobsWithRecords = Set(latest.keys)
    }
}
