import RunwayManifests
import RunwayModel

/// A nomad profile's `config`, read and checked at `runway validate` time. Every key is optional;
/// unknown keys are errors. What a key leaves unset comes from the `NOMAD_*` variables the
/// nomad CLI reads, on the controller.
struct NomadSettings: LauncherSettings, Hashable {
    enum Driver: String, Sendable, Hashable, CaseIterable {
        case docker
        case exec
        case rawExec = "raw_exec"
    }

    struct Constraint: Sendable, Hashable {
        var attribute: String
        var `operator`: String
        var value: String
    }

    /// `https://nomad.example:4646`; default `NOMAD_ADDR`, else `http://127.0.0.1:4646`.
    var address: String?
    /// Default `NOMAD_REGION`, else the agent's (`global`).
    var region: String?
    /// Default `NOMAD_NAMESPACE`, else `default`.
    var namespace: String?
    /// Default `["*"]` (every datacenter).
    var datacenters: [String] = []
    /// The ACL token; default `NOMAD_TOKEN`.
    var token: SecretReference?
    /// TLS files; default `NOMAD_CACERT`, `NOMAD_CLIENT_CERT`, `NOMAD_CLIENT_KEY`.
    var caCert: String?
    var clientCert: String?
    var clientKey: String?
    /// The name the server's certificate carries (`server.global.nomad`); default `NOMAD_TLS_SERVER_NAME`.
    var tlsServerName: String?
    var driver: Driver = .docker
    /// For `exec` and `raw_exec`: the runway binary on the Nomad clients. Default `runway`.
    var command = "runway"
    /// MHz and MB. Default Nomad's (100 MHz, 300 MB).
    var cpu: Int?
    var memory: Int?
    var constraints: [Constraint] = []
    var meta: [String: String] = [:]
    var priority: Int?
    /// A stop sends SIGTERM, then Nomad kills the task after this. Default 10s.
    var grace: Duration = .seconds(10)
    /// How long a job may wait unplaced (a blocked evaluation) before its attempt fails with the
    /// scheduler's reason. Default 2m.
    var placementTimeout: Duration = .seconds(120)

    static let operators = ["=", "!=", ">", ">=", "<", "<=", "regexp", "version", "semver", "set_contains", "set_contains_any", "is_set", "is_not_set"]

    init() {}

    init(_ node: ConfigNode, diagnostics: inout [Diagnostic]) {
        guard var reader = MappingReader(node, context: "spec.config", diagnostics: &diagnostics) else { return }
        func string(_ key: String) -> String? { reader.value(key)?.string("spec.config.\(key)", diagnostics: &diagnostics) }
        if let node = reader.value("address"), let text = node.string("spec.config.address", diagnostics: &diagnostics) {
            if text.hasPrefix("http://") || text.hasPrefix("https://") {
                address = text.hasSuffix("/") ? String(text.dropLast()) : text
            } else {
                diagnostics.append(.error("bad-value", "'spec.config.address' must be http(s)://host:port, found '\(text)'", at: node.location))
            }
        }
        region = string("region")
        namespace = string("namespace")
        datacenters = reader.value("datacenters")?.stringList("spec.config.datacenters", diagnostics: &diagnostics) ?? []
        if let node = reader.value("token") { token = node.secretReference("spec.config.token", name: "token", diagnostics: &diagnostics) }
        caCert = string("caCert")
        clientCert = string("clientCert")
        clientKey = string("clientKey")
        tlsServerName = string("tlsServerName")
        if (clientCert == nil) != (clientKey == nil), let node = reader.value(clientCert == nil ? "clientKey" : "clientCert") {
            diagnostics.append(.error("missing-field", "'spec.config.clientCert' and 'spec.config.clientKey' go together", at: node.location))
        }
        if let node = reader.value("driver"), let text = node.string("spec.config.driver", diagnostics: &diagnostics) {
            if let driver = Driver(rawValue: text) {
                self.driver = driver
            } else {
                diagnostics.append(.error(
                    "bad-value", "'spec.config.driver' must be one of \(Driver.allCases.map(\.rawValue).joined(separator: ", ")), found '\(text)'",
                    at: node.location))
            }
        }
        if let node = reader.value("command"), let text = node.string("spec.config.command", diagnostics: &diagnostics) {
            command = text
            if driver == .docker {
                diagnostics.append(.error("bad-value", "'spec.config.command' is for the exec and raw_exec drivers; with docker the image's entrypoint runs", at: node.location))
            }
        }
        if let resources = reader.value("resources"), var amounts = MappingReader(resources, context: "spec.config.resources", diagnostics: &diagnostics) {
            for (key, minimum) in [("cpu", 1), ("memory", 10)] {
                guard let node = amounts.value(key), let value = node.integer("spec.config.resources.\(key)", diagnostics: &diagnostics) else { continue }
                if value < minimum {
                    diagnostics.append(.error("bad-value", "'spec.config.resources.\(key)' must be at least \(minimum) (\(key == "cpu" ? "MHz" : "MB"))", at: node.location))
                } else if key == "cpu" {
                    cpu = value
                } else {
                    memory = value
                }
            }
            amounts.reportUnknownKeys(diagnostics: &diagnostics)
        }
        if let node = reader.value("constraints") {
            if node.items == nil {
                diagnostics.append(node.wrongType("spec.config.constraints", expected: "a list of {attribute, operator, value}"))
            }
            for (index, item) in (node.items ?? []).enumerated() {
                let field = "spec.config.constraints[\(index)]"
                guard var entry = MappingReader(item, context: field, diagnostics: &diagnostics) else { continue }
                let attribute = entry.required("attribute", diagnostics: &diagnostics, hint: "like ${node.class} or ${attr.kernel.name}")?
                    .string("\(field).attribute", diagnostics: &diagnostics)
                let operatorNode = entry.value("operator")
                let op = operatorNode?.string("\(field).operator", diagnostics: &diagnostics) ?? "="
                if let operatorNode, !Self.operators.contains(op) {
                    diagnostics.append(.error("bad-value", "'\(field).operator' must be one of \(Self.operators.joined(separator: " ")), found '\(op)'", at: operatorNode.location))
                }
                let value = entry.value("value")?.string("\(field).value", diagnostics: &diagnostics) ?? ""
                entry.reportUnknownKeys(diagnostics: &diagnostics)
                if let attribute { constraints.append(Constraint(attribute: attribute, operator: op, value: value)) }
            }
        }
        if let node = reader.value("meta") {
            meta = node.extraLabels("spec.config.meta", diagnostics: &diagnostics)
        }
        if let node = reader.value("priority"), let value = node.integer("spec.config.priority", diagnostics: &diagnostics) {
            if (1...100).contains(value) {
                priority = value
            } else {
                diagnostics.append(.error("bad-value", "'spec.config.priority' must be between 1 and 100, found \(value)", at: node.location))
            }
        }
        if let node = reader.value("grace"), let value = node.duration("spec.config.grace", atMost: LauncherLimits.grace, diagnostics: &diagnostics) { grace = value }
        if let node = reader.value("placementTimeout"),
            let value = node.duration("spec.config.placementTimeout", atMost: LauncherLimits.placement, diagnostics: &diagnostics)
        {
            placementTimeout = value
        }
        reader.reportUnknownKeys(diagnostics: &diagnostics)
    }
}
