import Foundation

/// One thing a reconcile pass should do, with the reason it should.
public enum PlanAction: Sendable, Hashable {
    case start(Start)
    case stop(Stop)
    case wait(Wait)

    /// Start a task for one attempt of a job.
    public struct Start: Sendable, Hashable {
        public var job: String
        public var profile: String
        public var generation: Generation
        public var run: Int
        public var attempt: Int
        public var reason: StartReason
        /// The runs of the job's dependencies it starts after (see ``JobRecord/upstream``).
        public var upstream: String?

        public init(
            job: String, profile: String, generation: Generation, run: Int = 1, attempt: Int, reason: StartReason,
            upstream: String? = nil
        ) {
            self.job = job
            self.profile = profile
            self.generation = generation
            self.run = run
            self.attempt = attempt
            self.reason = reason
            self.upstream = upstream
        }

        public var key: JobKey { JobKey(job: job, generation: generation, run: run) }

        /// Who the started task belongs to, for its name and labels.
        public var owner: TaskOwner {
            TaskOwner(job: job, generation: generation, run: run, attempt: attempt, profile: profile)
        }
    }

    /// Stop and remove a task.
    public struct Stop: Sendable, Hashable {
        public var task: ObservedTask
        public var reason: StopReason

        public init(task: ObservedTask, reason: StopReason) {
            self.task = task
            self.reason = reason
        }
    }

    /// A job that should start but may not yet.
    public struct Wait: Sendable, Hashable {
        public var job: String
        public var profile: String
        public var reason: WaitReason
        /// Which run waits.
        public var run: Int

        public init(job: String, profile: String, reason: WaitReason, run: Int = 1) {
            self.job = job
            self.profile = profile
            self.reason = reason
            self.run = run
        }
    }

    /// The job this action concerns, when known.
    public var job: String? {
        switch self {
        case .start(let start): start.job
        case .stop(let stop): stop.task.owner?.job
        case .wait(let wait): wait.job
        }
    }
}

public enum StartReason: Sendable, Hashable {
    /// The job has never run.
    case new
    /// The spec changed since generation `previous` ran.
    case specChanged(previous: Generation)
    /// The previous attempt failed and retries are left.
    case retry(previousAttempt: Int)
    /// A further run of the same generation (a rerun, a dependency that ran again, a tick).
    case newRun(run: Int, origin: String)
    /// The attempt was recorded but its task is not there (a crash between the two, or it was
    /// deleted before its runner connected): start it again under the same name (idempotent).
    case resume

    public var code: String {
        switch self {
        case .new: "new"
        case .specChanged: "spec-changed"
        case .retry: "retry"
        case .newRun: "new-run"
        case .resume: "resume"
        }
    }

    public var detail: String {
        switch self {
        case .new: "not run yet"
        case .specChanged(let previous): "spec changed since generation \(previous.short)"
        case .retry(let attempt): "retry after attempt \(attempt) failed"
        case .newRun(let run, let origin): "run \(run): \(origin)"
        case .resume: "attempt recorded but its task is missing; starting it again"
        }
    }
}

public enum StopReason: String, Sendable, Hashable, CaseIterable {
    /// The task exited, or its attempt is over.
    case finished
    /// Ours by label, but no job of this directory or of the store owns it.
    case orphaned
    /// Its job's manifest was removed.
    case jobRemoved = "job-removed"
    /// It ran longer than the job's `timeout`.
    case timedOut = "timed-out"
    /// Its runner did not connect within the profile's `startTimeout`.
    case startTimeout = "start-timeout"
    /// It belongs to an older generation or attempt of its job.
    case superseded
    /// Its runner stopped heartbeating (it died, or lost the controller).
    case heartbeatLost = "heartbeat-lost"
    /// An operator cancelled its run (`runway cancel`), or a schedule's `Replace` ended it.
    case cancelled
}

public enum WaitReason: Sendable, Hashable {
    /// The profile already has `limit` live tasks.
    case maxConcurrent(live: Int, limit: Int)
    /// The previous attempt failed; the next may start at `until`.
    case backoff(until: Date)
    /// An earlier run of the job is still open; this run starts after it ends.
    case previousRun(run: Int)
    /// A dependency (`spec.after`) has not succeeded in its current run yet.
    case dependency(job: String, status: String)
    /// A dependency's current run failed or was cancelled: this run cannot start until it
    /// runs again and succeeds.
    case blocked(job: String, status: String)
    /// A scheduled job waits for its next tick.
    case schedule(next: Date)
    /// A scheduled job whose schedule is suspended (`suspend: true`).
    case suspended

    public var code: String {
        switch self {
        case .maxConcurrent: "max-concurrent"
        case .backoff: "backoff"
        case .previousRun: "previous-run"
        case .dependency: "dependency"
        case .blocked: "blocked"
        case .schedule: "schedule"
        case .suspended: "suspended"
        }
    }

    /// The wait in words, as `plan` and `explain` show it.
    public var detail: String {
        switch self {
        case .maxConcurrent(let live, let limit): "max-concurrent: \(live)/\(limit) tasks live"
        case .backoff(let until): "backoff until \(until.formatted(.iso8601))"
        case .previousRun(let run): "run \(run) of this job is still open; this run starts after it ends"
        case .dependency(let job, let status): "waits for \(job) (\(status))"
        case .blocked(let job, let status): "blocked: dependency \(job) \(status)"
        case .schedule(let next): "next run at \(next.formatted(.iso8601))"
        case .suspended: "schedule suspended (suspend: true)"
        }
    }

    /// The time the wait ends by itself, when there is one.
    public var until: Date? {
        switch self {
        case .backoff(let until): until
        case .schedule(let next): next
        default: nil
        }
    }
}
