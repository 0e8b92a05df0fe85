/// Where a secret environment value comes from. Secrets are resolved at launch, never printed
/// and never stored. The first two are read by the controller (what the operator allows, see
/// ``TrustPolicy``); the others are resolved by the task's platform, and their values never pass
/// through the controller at all.
public enum SecretReference: Sendable, Hashable, Codable {
    /// The controller's own environment variable of this name.
    case fromEnv(String)
    /// The contents of this file on the controller's host (trailing newline trimmed).
    case fromFile(String)
    /// A key of a Kubernetes Secret in the task's namespace (`valueFrom.secretKeyRef`).
    case kubernetesSecret(name: String, key: String)
    /// An AWS Secrets Manager secret or SSM parameter, by ARN (an ECS container's `secrets`).
    case awsSecret(arn: String)
    /// A key of a Nomad Variable (rendered into the task's environment by a `template`).
    case nomadVariable(path: String, key: String)

    /// The plugin whose platform resolves this reference; nil for the controller's own.
    public var platform: String? {
        switch self {
        case .fromEnv, .fromFile: nil
        case .kubernetesSecret: "kubernetes"
        case .awsSecret: "ecs"
        case .nomadVariable: "nomad"
        }
    }

    /// The manifest key that writes it.
    public var kind: String {
        switch self {
        case .fromEnv: "fromEnv"
        case .fromFile: "fromFile"
        case .kubernetesSecret: "fromKubernetesSecret"
        case .awsSecret: "fromAWSSecret"
        case .nomadVariable: "fromNomadVariable"
        }
    }
}

/// A runner profile: which platform launches runner tasks, with what image, environment,
/// limits and launcher config. Decoded from a `kind: RunnerProfile` manifest.
public struct RunnerProfile: Sendable, Hashable {
    /// Default for ``startTimeout``: a runner must connect back within 2 minutes.
    public static let defaultStartTimeout: Duration = .seconds(120)

    public var name: String
    public var labels: [String: String]
    /// The launcher plugin: `local`, `docker`, `kubernetes`, `nomad` or `ecs`.
    public var plugin: String
    /// Jobs that name no profile run on the default profile. At most one profile is default.
    public var isDefault: Bool
    /// The runner image; nil means the controller's own image (`RUNWAY_IMAGE`).
    public var image: String?
    public var environment: [String: String]
    public var secretEnvironment: [String: SecretReference]
    /// Tasks of this profile live at once; nil means no limit.
    public var maxConcurrent: Int?
    /// The runner must connect back within this, else the attempt fails with `start-timeout`.
    public var startTimeout: Duration
    /// The launcher's own config, validated by that launcher.
    public var config: ConfigNode?
    /// Where the profile's `metadata.name` was written.
    public var location: SourceLocation

    public init(
        name: String,
        labels: [String: String] = [:],
        plugin: String,
        isDefault: Bool = false,
        image: String? = nil,
        environment: [String: String] = [:],
        secretEnvironment: [String: SecretReference] = [:],
        maxConcurrent: Int? = nil,
        startTimeout: Duration = RunnerProfile.defaultStartTimeout,
        config: ConfigNode? = nil,
        location: SourceLocation
    ) {
        self.name = name
        self.labels = labels
        self.plugin = plugin
        self.isDefault = isDefault
        self.image = image
        self.environment = environment
        self.secretEnvironment = secretEnvironment
        self.maxConcurrent = maxConcurrent
        self.startTimeout = startTimeout
        self.config = config
        self.location = location
    }
}
