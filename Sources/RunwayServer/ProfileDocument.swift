import Foundation
import RunwayModel
import RunwayStore

/// One runner profile at a glance, as `GET /v1/profiles` and `runway profiles -o json` show it:
/// what it resolves to from the manifests, and from the store how many of its tasks are live (by
/// state) and how many of its jobs wait. With `detail`, its resolved settings too, secrets only by
/// reference.
public struct ProfileDocument: Codable, Sendable, Equatable {
    public var name: String
    public var plugin: String
    /// nil: the controller's own image (`RUNWAY_IMAGE`).
    public var image: String?
    public var isDefault: Bool
    public var maxConcurrent: Int?
    public var startTimeout: String
    /// Its attempts that have a task (`starting`, `started`, `running`), by state.
    public var tasks: [String: Int]
    /// Its jobs that wait for a slot or a runner (`pending`, `held`).
    public var waiting: Int
    /// Its jobs, by the state of their current generation.
    public var jobs: [String: Int]
    public var environment: [String: String]?
    /// Secret variables, by reference only (`fromEnv NAME`, `fromKubernetesSecret db/password`).
    public var secretEnvironment: [String: String]?
    public var config: ConfigValue?

    /// The documents of every profile of `desired` (or only `name`), sorted by name.
    public static func build(
        desired: DesiredState, records: [JobRecord], open: [AttemptRecord], name: String? = nil, detail: Bool = false
    ) -> [ProfileDocument] {
        let current = Dictionary(grouping: records.filter { desired.jobs[$0.job]?.generation == $0.generation }, by: \.job)
            .compactMapValues { $0.max { $0.updatedAt < $1.updatedAt } }
        let jobsByProfile = Dictionary(grouping: desired.jobs.values, by: \.profile)
        let openByProfile = Dictionary(grouping: open, by: \.profile)
        return desired.profiles.values.filter { name == nil || $0.name == name }.sorted { $0.name < $1.name }.map { profile in
            var states: [String: Int] = [:]
            for job in jobsByProfile[profile.name] ?? [] { states[current[job.name]?.state.rawValue ?? "pending", default: 0] += 1 }
            var tasks: [String: Int] = [:]
            for attempt in openByProfile[profile.name] ?? [] { tasks[attempt.state.rawValue, default: 0] += 1 }
            return ProfileDocument(
                name: profile.name, plugin: profile.plugin, image: profile.image, isDefault: profile.isDefault,
                maxConcurrent: profile.maxConcurrent, startTimeout: profile.startTimeout.manifestDescription, tasks: tasks,
                waiting: (states["pending"] ?? 0) + (states["held"] ?? 0), jobs: states,
                environment: detail ? profile.environment : nil,
                secretEnvironment: detail ? profile.secretEnvironment.mapValues(Self.describe) : nil,
                config: detail ? profile.config.map(ConfigValue.init) : nil)
        }
    }

    /// A secret reference in words, never a value.
    static func describe(_ reference: SecretReference) -> String {
        switch reference {
        case .fromEnv(let name): "fromEnv \(name)"
        case .fromFile(let path): "fromFile \(path)"
        case .kubernetesSecret(let name, let key): "fromKubernetesSecret \(name)/\(key)"
        case .awsSecret(let arn): "fromAWSSecret \(arn)"
        case .nomadVariable(let path, let key): "fromNomadVariable \(path)#\(key)"
        }
    }
}

/// A launcher config as JSON: strings, lists and mappings, as the manifest wrote them.
public indirect enum ConfigValue: Codable, Sendable, Equatable {
    case string(String)
    case list([ConfigValue])
    case map([String: ConfigValue])

    public init(_ node: ConfigNode) {
        switch node.value {
        case .scalar(let scalar): self = .string(scalar.text)
        case .sequence(let items): self = .list(items.map(ConfigValue.init))
        case .mapping(let entries): self = .map(Dictionary(entries.map { ($0.key, ConfigValue($0.value)) }, uniquingKeysWith: { _, last in last }))
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([ConfigValue].self) {
            self = .list(items)
        } else {
            self = .map(try container.decode([String: ConfigValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .list(let items): try container.encode(items)
        case .map(let entries): try container.encode(entries)
        }
    }
}
