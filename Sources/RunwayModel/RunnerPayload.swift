/// What a runner receives when it claims its job: exactly the job it was launched for.
public struct ClaimedJob: Sendable, Codable, Hashable {
    /// The header a runner sends its claim id in (a random id of its own, the same on every try),
    /// so that asking again after a lost answer gets the same job instead of a refusal.
    public static let claimIDHeader = "Runway-Claim-ID"
    /// Set (`true`) on the answer to a log chunk once the attempt's output reached the cap: the
    /// controller drops whatever else comes, so the runner may stop sending it.
    public static let outputCappedHeader = "Runway-Output-Capped"
    /// Set on a standby's redirect: the leader's runner API URL, as the controllers publish it in
    /// the store. A runner follows a redirect there (or to one of its own controller URLs) only.
    public static let leaderURLHeader = "Runway-Leader-URL"

    public var attemptID: String
    public var job: String
    public var generation: String
    /// Which run of the generation (1 when absent, from a controller before runs).
    public var run: Int?
    public var attempt: Int
    public var command: [String]
    public var workingDirectory: String?
    public var environment: [String: String]
    /// How often the runner must heartbeat, in milliseconds.
    public var heartbeatIntervalMilliseconds: Int
    /// Largest log chunk the server accepts, in bytes.
    public var maxLogChunkBytes: Int

    public init(
        attemptID: String, job: String, generation: String, run: Int = 1, attempt: Int, command: [String], workingDirectory: String?,
        environment: [String: String], heartbeatIntervalMilliseconds: Int, maxLogChunkBytes: Int
    ) {
        self.attemptID = attemptID
        self.job = job
        self.generation = generation
        self.run = run
        self.attempt = attempt
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.maxLogChunkBytes = maxLogChunkBytes
    }
}

/// The runner's final report.
public struct CompletionReport: Sendable, Codable, Hashable {
    /// The command's exit code; nil when it could not be started.
    public var exitCode: Int32?
    /// Why it ended, when not a plain exit: `signal 15`, `spawn failed: …`, `cancelled`.
    public var reason: String?
    /// Set when part of the job's output never reached the controller: from which byte, and why
    /// (a chunk refused, the controller unreachable). The job's result stands; its log is short.
    public var outputIncomplete: String?

    public init(exitCode: Int32?, reason: String? = nil, outputIncomplete: String? = nil) {
        self.exitCode = exitCode
        self.reason = reason
        self.outputIncomplete = outputIncomplete
    }

    /// The reason a runner reports when its task was told to stop (SIGTERM) while the job ran.
    public static let stoppedReason = "stopped by SIGTERM"

    /// The report as the controller records it: a runner stopped while Runway had not asked for
    /// a stop was stopped by someone else (a Job or container deleted out of band, a node
    /// drained), which is its task being lost, not its job failing.
    public func settled(stopRequested: Bool) -> CompletionReport {
        guard reason == Self.stoppedReason, !stopRequested else { return self }
        return CompletionReport(
            exitCode: exitCode, reason: "task-lost (its task was stopped outside Runway: \(Self.stoppedReason))", outputIncomplete: outputIncomplete)
    }
}
