import Foundation

/// One attempt of one job generation: its task, its one-time token and what became of it.
public struct AttemptRecord: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Recorded; the launcher was asked to start its task.
        case starting
        /// The launcher confirmed the task.
        case started
        /// The runner claimed the job and runs it.
        case running
        /// The runner reported the end of the command.
        case completed
        /// Ended without a report (timeout, lost task, start failure, cancel).
        case failed
    }

    /// `<job>.<generation>.<n>` (run 1) or `<job>.<generation>.r<run>.<n>`: unique, stable,
    /// safe in URLs.
    public var id: String
    public var job: String
    public var generation: Generation
    public var run: Int
    public var number: Int
    public var profile: String
    public var plugin: String
    /// The job's retry budget (part of its generation), so a completion can be settled alone.
    public var retries: Int
    public var taskName: String
    /// The platform's identifier, once started.
    public var taskID: String?
    /// SHA-256 (hex) of the one-time task token; the token itself is never stored.
    public var tokenHash: String
    public var state: State
    public var reason: String?
    public var exitCode: Int32?
    public var requestedAt: Date
    public var startedAt: Date?
    public var claimedAt: Date?
    /// The id the runner sent with its claim: the same runner asking again (its answer lost to
    /// a failover) gets its job again; any other claim of the attempt is refused.
    public var claimID: String?
    public var lastHeartbeatAt: Date?
    public var completedAt: Date?
    public var stopRequestedAt: Date?
    public var stoppedAt: Date?
    /// The sequence number the next log chunk must carry.
    public var nextLogSeq: Int
    public var logBytes: Int

    public init(
        job: String, generation: Generation, run: Int = 1, number: Int, profile: String, plugin: String, retries: Int,
        taskName: String, tokenHash: String, requestedAt: Date
    ) {
        self.id = AttemptRecord.id(job: job, generation: generation, run: run, number: number)
        self.job = job
        self.generation = generation
        self.run = run
        self.number = number
        self.profile = profile
        self.plugin = plugin
        self.retries = retries
        self.taskName = taskName
        self.tokenHash = tokenHash
        self.state = .starting
        self.requestedAt = requestedAt
        self.nextLogSeq = 0
        self.logBytes = 0
    }

    public static func id(job: String, generation: Generation, run: Int = 1, number: Int) -> String {
        run == 1 ? "\(job).\(generation.digest).\(number)" : "\(job).\(generation.digest).r\(run).\(number)"
    }

    /// The id of the attempt a record's run is on.
    public static func id(of record: JobRecord) -> String {
        id(job: record.job, generation: record.generation, run: record.run, number: record.attempt)
    }

    public var key: JobKey { JobKey(job: job, generation: generation, run: run) }

    /// Whether the attempt can still change (not completed or failed).
    public var isOpen: Bool { state != .completed && state != .failed }
}

/// One entry of a job's event trail: queued → held → start requested → task started → runner
/// connected → running → completed → stop requested → stopped, and the failures between.
public struct JobEvent: Sendable, Hashable {
    public var job: String
    public var generation: Generation
    public var run: Int
    public var attempt: Int?
    public var at: Date
    /// A short, stable name: `queued`, `held`, `start-requested`, `task-started`, ….
    public var kind: String
    public var message: String

    public init(job: String, generation: Generation, run: Int = 1, attempt: Int?, at: Date, kind: String, message: String) {
        self.job = job
        self.generation = generation
        self.run = run
        self.attempt = attempt
        self.at = at
        self.kind = kind
        self.message = message
    }

    public init(_ record: JobRecord, attempt: Int? = nil, at: Date, kind: String, message: String) {
        self.init(job: record.job, generation: record.generation, run: record.run, attempt: attempt, at: at, kind: kind, message: message)
    }
}

/// Where one log chunk of an attempt sits in its log file.
public struct LogChunk: Sendable, Hashable {
    public enum Stream: String, Sendable, Hashable, Codable {
        case stdout
        case stderr
    }

    public var attemptID: String
    public var seq: Int
    public var stream: Stream
    public var offset: Int
    public var length: Int
    public var at: Date
    /// The chunk's bytes, for a store that keeps log output itself (see
    /// `StateStore.keepsLogOutput`); nil when they go to the state directory's files.
    public var bytes: [UInt8]?

    public init(attemptID: String, seq: Int, stream: Stream, offset: Int, length: Int, at: Date, bytes: [UInt8]? = nil) {
        self.bytes = bytes
        self.attemptID = attemptID
        self.seq = seq
        self.stream = stream
        self.offset = offset
        self.length = length
        self.at = at
    }
}
