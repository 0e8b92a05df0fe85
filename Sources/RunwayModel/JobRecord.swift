import Foundation

/// What the store knows about one generation of one job.
public struct JobRecord: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        /// Waiting to be started (first attempt, or a retry after its backoff).
        case pending
        /// A task is being started; the job waits in the holding set for its runner.
        case held
        /// Its runner connected and took it.
        case running
        case succeeded
        case failed
        case cancelled

        /// Succeeded, failed or cancelled: the generation will not run again.
        public var isTerminal: Bool {
            switch self {
            case .succeeded, .failed, .cancelled: true
            case .pending, .held, .running: false
            }
        }
    }

    public var job: String
    public var generation: Generation
    public var profile: String
    public var state: State
    /// The number of the latest attempt started; 0 before the first.
    public var attempt: Int
    /// Why the record is in its state ("exit code 1", "start-timeout").
    public var lastReason: String?
    public var exitCode: Int32?
    public var createdAt: Date
    public var updatedAt: Date
    /// When the current attempt's start was requested (state `held`).
    public var heldSince: Date?
    /// When the current attempt's runner took the job (state `running`).
    public var runningSince: Date?
    /// No new attempt before this (state `pending` after a failure).
    public var nextAttemptAt: Date?
    /// The last sign of life from the current attempt's runner (claim, heartbeat, log).
    public var lastHeartbeatAt: Date?

    public init(
        job: String,
        generation: Generation,
        profile: String,
        state: State,
        attempt: Int,
        lastReason: String? = nil,
        exitCode: Int32? = nil,
        createdAt: Date,
        updatedAt: Date? = nil,
        heldSince: Date? = nil,
        runningSince: Date? = nil,
        nextAttemptAt: Date? = nil,
        lastHeartbeatAt: Date? = nil
    ) {
        self.job = job
        self.generation = generation
        self.profile = profile
        self.state = state
        self.attempt = attempt
        self.lastReason = lastReason
        self.exitCode = exitCode
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.heldSince = heldSince
        self.runningSince = runningSince
        self.nextAttemptAt = nextAttemptAt
        self.lastHeartbeatAt = lastHeartbeatAt
    }

    public var key: JobKey { JobKey(job: job, generation: generation) }
}

/// One generation of one job.
public struct JobKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var job: String
    public var generation: Generation

    public init(job: String, generation: Generation) {
        self.job = job
        self.generation = generation
    }

    public var description: String { "\(job)@\(generation.short)" }

    public static func < (lhs: JobKey, rhs: JobKey) -> Bool {
        (lhs.job, lhs.generation.digest) < (rhs.job, rhs.generation.digest)
    }
}
