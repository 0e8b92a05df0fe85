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

    /// Whether `plan` takes the runs ``RunQueue`` would queue as queued (`runway plan`, tests);
    /// false for a caller that wrote them before it plans (the controller), so they are not
    /// worked out twice.
    public var queuesRuns: Bool

    public init(heartbeatTimeout: Duration = .seconds(30), reachableSince: Date = .distantPast, queuesRuns: Bool = true) {
        self.heartbeatTimeout = heartbeatTimeout
        self.reachableSince = reachableSince
        self.queuesRuns = queuesRuns
    }

    /// The plan for one pass. The runs ``RunQueue`` would queue are taken as queued (a
    /// controller has written them before it plans; `runway plan` shows what they would do);
    /// a schedule's tick is the controller's to take up, so a run waiting for one waits here.
    public func plan(desired: DesiredState, observed: [ObservedTask], records: [JobRecord], now: Date) -> Plan {
        let queued = queuesRuns ? RunQueue().queue(desired: desired, records: records, now: now, followsTicks: false).records : []
        var merged = Dictionary(records.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for record in queued { merged[record.key] = record }
        var pass = Pass(
            desired: desired, records: queued.isEmpty ? records : Array(merged.values), now: now,
            heartbeatTimeout: heartbeatTimeout, reachableSince: reachableSince)
        var actions: [PlanAction] = []
        for task in observed {
            if let reason = pass.stopReason(for: task) {
                actions.append(.stop(.init(task: task, reason: reason)))
            } else {
                pass.countLive(task)
            }
        }
        for name in desired.jobs.keys.sorted() {
            actions += pass.actions(for: desired.jobs[name]!)
        }
        return Plan(actions: actions)
    }
}

/// One planning pass: indexes built once, then one decision per task and per run.
struct Pass {
    let desired: DesiredState
    let now: Date
    let heartbeatTimeout: Duration
    let reachableSince: Date
    let index: RunIndex
    /// The record of each run.
    var records: [JobKey: JobRecord] { index.byKey }
    /// The most recently updated record of another generation per job name, for "spec changed".
    let previousGeneration: [String: JobRecord]
    /// Runs (current generation) that have a live task that is not being stopped.
    var runsWithLiveTask: Set<JobKey> = []
    /// Live tasks per profile, for `maxConcurrent`.
    var liveByProfile: [String: Int] = [:]

    init(desired: DesiredState, records: [JobRecord], now: Date, heartbeatTimeout: Duration, reachableSince: Date) {
        self.desired = desired
        self.now = now
        self.heartbeatTimeout = heartbeatTimeout
        self.reachableSince = reachableSince
        index = RunIndex(desired: desired, records: records)
        var previous: [String: JobRecord] = [:]
        for record in records where desired.jobs[record.job].map({ $0.generation != record.generation }) ?? true {
            if let other = previous[record.job], (other.updatedAt, other.generation) >= (record.updatedAt, record.generation) { continue }
            previous[record.job] = record
        }
        previousGeneration = previous
    }
}
