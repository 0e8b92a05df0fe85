/// Everything a launcher needs to start one runner task (Waypoint's `TaskLaunchInfo` plus name,
/// labels and the profile's launcher config).
///
/// - Important: `secretEnvironment` holds resolved secret values: never log or persist a TaskSpec.
public struct TaskSpec: Sendable {
    /// The deterministic task name (`runway-<job>-<generation8>-<attempt>`).
    public var name: String
    public var labels: [String: String]
    public var owner: TaskOwner
    /// The runner image; nil means the controller's own (container launchers) or binary (local).
    public var image: String?
    /// Overrides the image's entrypoint when set (the runner agent by default).
    public var entrypoint: [String]?
    public var arguments: [String]
    /// Plain environment, including `RUNWAY_SERVER_URL`, `RUNWAY_TASK_TOKEN` and `RUNWAY_TASK_ID`.
    public var environment: [String: String]
    /// Resolved secrets, kept apart so platforms can store them as secrets.
    public var secretEnvironment: [String: String]
    /// Secrets the platform resolves itself (references only, by variable name): only
    /// references of the task's own platform (validated with its profile).
    public var platformSecrets: [String: SecretReference] = [:]
    /// The profile's launcher config, already validated by the launcher.
    public var config: ConfigNode?
    /// The longest this task should live (the job's timeout plus the profile's start timeout),
    /// for platforms that enforce a deadline of their own as a safety net; nil without a timeout.
    public var deadline: Duration?
    /// How the runner gets into the task: nil, it is `image`'s entrypoint; set, the task runs this
    /// job image, and the runner is brought in from `image` (its ``RunnerBundle``).
    public var jobImage: String?

    public init(
        name: String, labels: [String: String], owner: TaskOwner, image: String? = nil, entrypoint: [String]? = nil,
        arguments: [String] = [], environment: [String: String] = [:], secretEnvironment: [String: String] = [:],
        config: ConfigNode? = nil, deadline: Duration? = nil
    ) {
        self.name = name
        self.labels = labels
        self.owner = owner
        self.image = image
        self.entrypoint = entrypoint
        self.arguments = arguments
        self.environment = environment
        self.secretEnvironment = secretEnvironment
        self.config = config
        self.deadline = deadline
    }
}

/// The runner as it is brought into a job's own image, one layout for every launcher: the lean
/// runner, the dynamic loader and every library it loads under ``path`` (made by
/// `scripts/runner-bundle`, carried by the runner image), started through that loader, so the
/// job's image needs nothing of Runway: no shell and no particular C library.
public enum RunnerBundle {
    /// Where the bundle sits in the runner image and where a job's task mounts it.
    public static let path = "/runway"
    /// The task's entrypoint (the command `runner` follows, as for every runner).
    public static let entrypoint = entrypoint(at: path)

    /// The entrypoint of the bundle installed at `directory` (a platform whose shared task
    /// directory has a fixed place, as Nomad's `/alloc`).
    public static func entrypoint(at directory: String) -> [String] {
        [directory + "/lib/ld.so", "--library-path", directory + "/lib", directory + "/bin/runway-runner"]
    }
}

/// A started task, as its launcher identifies it.
public struct TaskHandle: Sendable, Hashable, Codable {
    public var plugin: String
    /// The platform's identifier.
    public var id: String
    public var name: String
    /// The launcher config of the task's profile (a stop needs the same endpoint and grace).
    public var config: ConfigNode?

    public init(plugin: String, id: String, name: String, config: ConfigNode? = nil) {
        self.plugin = plugin
        self.id = id
        self.name = name
        self.config = config
    }

    public init(_ task: ObservedTask, config: ConfigNode? = nil) {
        self.init(plugin: task.plugin, id: task.id, name: task.name, config: config)
    }

    enum CodingKeys: String, CodingKey { case plugin, id, name }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            plugin: try container.decode(String.self, forKey: .plugin), id: try container.decode(String.self, forKey: .id),
            name: try container.decode(String.self, forKey: .name))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(plugin, forKey: .plugin)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
    }
}

/// The environment variables the controller sets on every task.
public enum TaskEnvironment {
    public static let serverURL = "RUNWAY_SERVER_URL"
    public static let token = "RUNWAY_TASK_TOKEN"
    public static let taskID = "RUNWAY_TASK_ID"
    /// The CA (PEM text) that signed the controller's TLS certificate, when it serves TLS.
    public static let serverCA = "RUNWAY_SERVER_CA"
    /// Set by the runner agent for the job's command.
    public static let job = "RUNWAY_JOB"
    public static let attempt = "RUNWAY_ATTEMPT"
}
