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
        public var attempt: Int
        public var reason: StartReason

        public init(job: String, profile: String, generation: Generation, attempt: Int, reason: StartReason) {
            self.job = job
            self.profile = profile
            self.generation = generation
            self.attempt = attempt
            self.reason = reason
        }

        /// Who the started task belongs to, for its name and labels.
        public var owner: TaskOwner {
            TaskOwner(job: job, generation: generation, attempt: attempt, profile: profile)
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

        public init(job: String, profile: String, reason: WaitReason) {
            self.job = job
            self.profile = profile
            self.reason = reason
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
    /// The attempt was recorded but its task is not there (a crash between the two, or it was
    /// deleted before its runner connected): start it again under the same name (idempotent).
    case resume

    public var code: String {
        switch self {
        case .new: "new"
        case .specChanged: "spec-changed"
        case .retry: "retry"
        case .resume: "resume"
        }
    }

    public var detail: String {
        switch self {
        case .new: "not run yet"
        case .specChanged(let previous): "spec changed since generation \(previous.short)"
        case .retry(let attempt): "retry after attempt \(attempt) failed"
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
}

public enum WaitReason: Sendable, Hashable {
    /// The profile already has `limit` live tasks.
    case maxConcurrent(live: Int, limit: Int)
    /// The previous attempt failed; the next may start at `until`.
    case backoff(until: Date)

    public var code: String {
        switch self {
        case .maxConcurrent: "max-concurrent"
        case .backoff: "backoff"
        }
    }
}
