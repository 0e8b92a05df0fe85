/// A job as written in a `kind: Job` manifest: a command to run once on a runner profile.
public struct JobSpec: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    /// The profile as written; nil means the default profile.
    public var profile: String?
    /// The argv to run, never empty.
    public var command: [String]
    public var workingDirectory: String?
    public var environment: [String: String]
    /// Wall time of one attempt once running; nil means no limit.
    public var timeout: Duration?
    /// Further attempts after a failed one.
    public var retries: Int
    /// Where the job's `metadata.name` was written.
    public var location: SourceLocation

    public init(
        name: String,
        labels: [String: String] = [:],
        profile: String? = nil,
        command: [String],
        workingDirectory: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration? = nil,
        retries: Int = 0,
        location: SourceLocation
    ) {
        self.name = name
        self.labels = labels
        self.profile = profile
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.timeout = timeout
        self.retries = retries
        self.location = location
    }
}

/// A job with its profile resolved and its generation computed: what the planner works on.
public struct Job: Sendable, Hashable {
    public var spec: JobSpec
    /// The resolved profile name (the default profile when the spec names none).
    public var profile: String
    /// The digest of the canonical spec; a changed spec is a new generation and runs again.
    public var generation: Generation

    public var name: String { spec.name }

    public init(spec: JobSpec, profile: String) {
        self.spec = spec
        self.profile = profile
        self.generation = Generation(of: spec, profile: profile)
    }
}
