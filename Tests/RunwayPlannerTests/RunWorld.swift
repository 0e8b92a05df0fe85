import Foundation
import RunwayModel
import RunwayPlanner

/// A controller's passes played out purely, on an injected clock: the run queue, then the plan,
/// its starts taken as held at once (no platform), reports given by the test. What each pass
/// started is kept, so a test reads which runs ran in which order.
struct RunWorld {
    var desired: DesiredState
    var records: [JobKey: JobRecord] = [:]
    var now: Date
    /// `job` for a first run, `job/rN` for later ones, in start order (resumes not counted).
    var started: [String] = []
    var lastPlan = Plan(actions: [])
    /// Runs whose task a plan stopped.
    var stopped = Set<JobKey>()
    var lastChanges: RunQueue.Changes?
    /// The controller's history retention (nil: by `historyLimit` only).
    var retention: Duration?

    init(_ jobs: [Job], profiles: [RunnerProfile] = [Fixture.profile("default")], now: Date = Fixture.now) {
        desired = Fixture.desired(profiles, jobs)
        self.now = now
    }

    /// One pass: queue, plan, hold what starts. `ticks: false` is `apply`.
    @discardableResult
    mutating func pass(_ requests: [JobRequest] = [], ticks: Bool = true) -> Plan {
        let changes = RunQueue().queue(
            desired: desired, records: Array(records.values), requests: requests, now: now, followsTicks: ticks, retention: retention)
        for record in changes.records { records[record.key] = record }
        lastChanges = changes
        let plan = Planner().plan(desired: desired, observed: observed, records: Array(records.values), now: now)
        for start in plan.starts {
            let job = desired.jobs[start.job]!
            var held = Lifecycle.held(records[start.key] ?? Lifecycle.queued(job, run: start.run, now: now), attempt: start.attempt, now: now)
            if start.upstream != nil { held.upstream = start.upstream }
            records[start.key] = Lifecycle.running(held, now: now)
            if start.reason != .resume { started.append(start.run == 1 ? start.job : "\(start.job)/r\(start.run)") }
        }
        for stop in plan.stops { if let owner = stop.task.owner { stopped.insert(owner.key) } }
        lastPlan = plan
        return plan
    }

    /// A task per running record (so nothing is started twice while it runs), and per run
    /// cancelled while it ran until a plan stops it.
    var observed: [ObservedTask] {
        records.values.filter {
            $0.state == .running || $0.state == .held || ($0.state == .cancelled && $0.runningSince != nil && !stopped.contains($0.key))
        }.map { record in
            let owner = TaskOwner(job: record.job, generation: record.generation, run: record.run, attempt: record.attempt, profile: record.profile)
            return ObservedTask(id: owner.taskName(), name: owner.taskName(), plugin: "local",
                labels: TaskLabels.labels(controllerID: "runway", owner: owner), state: .running)
        }
    }

    /// The runner of `job`'s running run reports `exitCode`.
    mutating func finish(_ job: String, exitCode: Int32 = 0) {
        guard let record = records.values.filter({ $0.job == job && $0.state == .running }).min(by: { $0.run < $1.run }) else {
            preconditionFailure("\(job) is not running")
        }
        records[record.key] = Lifecycle.completed(
            record, retries: desired.jobs[job]?.spec.retries ?? 0, report: CompletionReport(exitCode: exitCode), now: now,
            backoff: Backoff(), jitter: 0)
    }

    /// Passes, finishing every running job with success after each, until nothing starts.
    mutating func runToEnd(limit: Int = 20) {
        for _ in 0..<limit {
            pass()
            let running = records.values.filter { $0.state == .running }.map(\.job)
            if running.isEmpty && lastPlan.starts.isEmpty { return }
            for job in Set(running) { finish(job) }
        }
    }

    mutating func edit(_ job: Job) { desired.jobs[job.name] = job }

    /// The records of `job`'s current generation, by run.
    func runs(_ job: String) -> [JobRecord] {
        records.values.filter { $0.job == job && $0.generation == desired.jobs[job]?.generation }.sorted { $0.run < $1.run }
    }

    static func request(_ kind: JobRequest.Kind, _ job: String, id: String = "r1", at: Date = Fixture.now) -> JobRequest {
        JobRequest(id: id, job: job, kind: kind, reason: "because", requestedBy: "alice@host", requestedAt: at)
    }
}

extension Fixture {
    static func runJob(_ name: String, after: [String] = [], schedule: JobSchedule? = nil, rerun: String? = nil, command: [String] = ["true"]) -> Job {
        var spec = JobSpec(name: name, command: command, location: location)
        spec.after = after
        spec.afterLocations = after.map { _ in location }
        spec.schedule = schedule
        spec.rerun = rerun
        return Job(spec: spec, profile: "default")
    }
}
