import RunwayManifests
import RunwayModel

/// A JSON value, for the parts of a Kubernetes object that profiles write themselves
/// (tolerations, affinity, security contexts).
enum JSONValue: Sendable, Hashable, Codable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// `self` with `other`'s keys laid over it (objects only; otherwise `other`).
    func overlaid(with other: JSONValue) -> JSONValue {
        guard case .object(var base) = self, case .object(let top) = other else { return other }
        base.merge(top) { $1 }
        return .object(base)
    }
}

/// What a Kubernetes field accepts, for the object-valued profile keys: enough of the API's
/// schema to point at the exact line of a wrong key or type at `runway validate` time, and to
/// send each scalar with the JSON type the API expects (`runAsUser: 1000` a number, a label value
/// `"1000"` a string).
indirect enum KubernetesShape: Sendable {
    case string
    case integer
    case bool
    case oneOf([String])
    case list(KubernetesShape)
    /// A mapping of string keys to string values (labels, node selectors).
    case stringMap
    case object([String: KubernetesShape])

    /// The node as JSON, or nil with diagnostics naming `field` and the line.
    func value(of node: ConfigNode, field: String, diagnostics: inout [Diagnostic]) -> JSONValue? {
        switch self {
        case .string:
            return node.string(field, diagnostics: &diagnostics).map(JSONValue.string)
        case .integer:
            return node.integer(field, diagnostics: &diagnostics).map(JSONValue.integer)
        case .bool:
            return node.bool(field, diagnostics: &diagnostics).map(JSONValue.bool)
        case .oneOf(let choices):
            guard let text = node.string(field, diagnostics: &diagnostics) else { return nil }
            guard choices.contains(text) else {
                diagnostics.append(.error(
                    "bad-value", "'\(field)' must be one of \(choices.joined(separator: ", ")), found '\(text)'", at: node.location))
                return nil
            }
            return .string(text)
        case .list(let item):
            guard let items = node.items else {
                diagnostics.append(node.wrongType(field, expected: "a list"))
                return nil
            }
            let values = items.enumerated().map { item.value(of: $1, field: "\(field)[\($0)]", diagnostics: &diagnostics) }
            return values.contains(nil) ? nil : .array(values.compactMap { $0 })
        case .stringMap:
            return node.stringMap(field, diagnostics: &diagnostics).map { .object($0.mapValues(JSONValue.string)) }
        case .object(let fields):
            guard var reader = MappingReader(node, context: field, diagnostics: &diagnostics) else { return nil }
            var object: [String: JSONValue] = [:]
            var failed = false
            for (key, shape) in fields.sorted(by: { $0.key < $1.key }) {
                guard let child = reader.value(key) else { continue }
                if let value = shape.value(of: child, field: "\(field).\(key)", diagnostics: &diagnostics) {
                    object[key] = value
                } else {
                    failed = true
                }
            }
            let before = diagnostics.count
            reader.reportUnknownKeys(diagnostics: &diagnostics)
            return failed || diagnostics.count > before ? nil : .object(object)
        }
    }
}

/// The shapes of the profile keys that are Kubernetes objects (core/v1, as of Kubernetes 1.30).
enum KubernetesShapes {
    static let capabilities = KubernetesShape.object(["add": .list(.string), "drop": .list(.string)])
    static let seccompProfile = KubernetesShape.object([
        "type": .oneOf(["RuntimeDefault", "Unconfined", "Localhost"]), "localhostProfile": .string,
    ])
    static let seLinuxOptions = KubernetesShape.object(["user": .string, "role": .string, "type": .string, "level": .string])

    /// A container's `securityContext`.
    static let securityContext = KubernetesShape.object([
        "runAsUser": .integer, "runAsGroup": .integer, "runAsNonRoot": .bool, "readOnlyRootFilesystem": .bool,
        "allowPrivilegeEscalation": .bool, "privileged": .bool, "capabilities": capabilities, "seccompProfile": seccompProfile,
        "seLinuxOptions": seLinuxOptions, "procMount": .oneOf(["Default", "Unmasked"]),
    ])

    /// The pod's `securityContext`.
    static let podSecurityContext = KubernetesShape.object([
        "runAsUser": .integer, "runAsGroup": .integer, "runAsNonRoot": .bool, "fsGroup": .integer,
        "fsGroupChangePolicy": .oneOf(["OnRootMismatch", "Always"]), "supplementalGroups": .list(.integer),
        "seccompProfile": seccompProfile, "seLinuxOptions": seLinuxOptions,
        "sysctls": .list(.object(["name": .string, "value": .string])),
    ])

    static let toleration = KubernetesShape.object([
        "key": .string, "operator": .oneOf(["Exists", "Equal"]), "value": .string,
        "effect": .oneOf(["NoSchedule", "PreferNoSchedule", "NoExecute"]), "tolerationSeconds": .integer,
    ])

    static let requirement = KubernetesShape.object([
        "key": .string, "operator": .oneOf(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]), "values": .list(.string),
    ])
    static let nodeSelectorTerm = KubernetesShape.object(["matchExpressions": .list(requirement), "matchFields": .list(requirement)])
    static let labelSelector = KubernetesShape.object([
        "matchLabels": .stringMap,
        "matchExpressions": .list(.object(["key": .string, "operator": .oneOf(["In", "NotIn", "Exists", "DoesNotExist"]), "values": .list(.string)])),
    ])
    static let podAffinityTerm = KubernetesShape.object([
        "labelSelector": labelSelector, "namespaceSelector": labelSelector, "namespaces": .list(.string), "topologyKey": .string,
        "matchLabelKeys": .list(.string), "mismatchLabelKeys": .list(.string),
    ])
    static let podAffinity = KubernetesShape.object([
        "requiredDuringSchedulingIgnoredDuringExecution": .list(podAffinityTerm),
        "preferredDuringSchedulingIgnoredDuringExecution": .list(.object(["weight": .integer, "podAffinityTerm": podAffinityTerm])),
    ])
    static let affinity = KubernetesShape.object([
        "nodeAffinity": .object([
            "requiredDuringSchedulingIgnoredDuringExecution": .object(["nodeSelectorTerms": .list(nodeSelectorTerm)]),
            "preferredDuringSchedulingIgnoredDuringExecution": .list(.object(["weight": .integer, "preference": nodeSelectorTerm])),
        ]),
        "podAffinity": podAffinity,
        "podAntiAffinity": podAffinity,
    ])
}
