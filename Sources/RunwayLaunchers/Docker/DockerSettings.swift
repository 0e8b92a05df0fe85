import RunwayManifests
import RunwayModel

/// A docker profile's `config`, read and checked. Every key is optional; unknown keys are errors.
struct DockerSettings: LauncherSettings, Hashable {
    enum Pull: String, Sendable, Hashable, CaseIterable {
        /// Pull only when the image is not on the engine (the default).
        case missing
        case always
        /// Never pull: a missing image fails the attempt with that reason.
        case never
    }

    /// `unix:///path`, `tcp://host:port`, `http(s)://…`; default `DOCKER_HOST`, else the default socket.
    var host: String?
    /// `host`, `none`, `bridge` or a network's name. Default the engine's default.
    var network: String?
    var binds: [String] = []
    var memoryBytes: Int64?
    var nanoCPUs: Int64?
    var pull: Pull = .missing
    var extraHosts: [String] = []
    var labels: [String: String] = [:]
    var user: String?
    /// Run the engine's own init (`docker run --init`) as the container's PID 1, with the runner
    /// under it. Default false: the runner does an init's duties itself (reaps, forwards SIGTERM).
    var useInit = false
    var registryAuth: SecretReference?
    /// How long a stop waits for the runner after SIGTERM before the engine kills it. Default 10s.
    var grace: Duration = .seconds(10)
    /// Longest an image pull may take in all. Default 30m, at most 1d.
    var pullTimeout: Duration = .seconds(30 * 60)
    /// A pull that moves no byte for this long is abandoned. Default 60s, at most 1h.
    var pullStallTimeout: Duration = .seconds(60)

    init() {}

    init(_ node: ConfigNode, diagnostics: inout [Diagnostic]) {
        guard var reader = MappingReader(node, context: "spec.config", diagnostics: &diagnostics) else { return }
        func string(_ key: String) -> String? {
            reader.value(key)?.string("spec.config.\(key)", diagnostics: &diagnostics)
        }
        func list(_ key: String) -> [String] {
            reader.value(key)?.stringList("spec.config.\(key)", diagnostics: &diagnostics) ?? []
        }
        if let host = reader.value("host"), let text = host.string("spec.config.host", diagnostics: &diagnostics) {
            if DockerEndpoint(text) == nil {
                diagnostics.append(.error(
                    "bad-value", "'spec.config.host' must be unix:///path, tcp://host:port or http(s)://host:port, found '\(text)'",
                    at: host.location))
            } else {
                self.host = text
            }
        }
        network = string("network")
        binds = list("binds")
        if let resources = reader.value("resources"),
            var limits = MappingReader(resources, context: "spec.config.resources", diagnostics: &diagnostics)
        {
            memoryBytes = limits.value("memory")?.memoryBytes("spec.config.resources.memory", diagnostics: &diagnostics)
            nanoCPUs = limits.value("cpu")?.millicores("spec.config.resources.cpu", diagnostics: &diagnostics).map { $0 * 1_000_000 }
            limits.reportUnknownKeys(diagnostics: &diagnostics)
        }
        if let node = reader.value("pull"), let text = node.string("spec.config.pull", diagnostics: &diagnostics) {
            if let pull = Pull(rawValue: text) {
                self.pull = pull
            } else {
                diagnostics.append(.error(
                    "bad-value", "'spec.config.pull' must be one of \(Pull.allCases.map(\.rawValue).joined(separator: ", ")), found '\(text)'",
                    at: node.location))
            }
        }
        extraHosts = list("extraHosts")
        labels = reader.value("labels")?.extraLabels("spec.config.labels", diagnostics: &diagnostics) ?? [:]
        user = string("user")
        if let node = reader.value("init"), let useInit = node.bool("spec.config.init", diagnostics: &diagnostics) {
            self.useInit = useInit
        }
        if let node = reader.value("registryAuth") {
            registryAuth = node.secretReference("spec.config.registryAuth", name: "registryAuth", diagnostics: &diagnostics)
        }
        if let node = reader.value("grace"), let grace = node.duration("spec.config.grace", atMost: LauncherLimits.grace, diagnostics: &diagnostics) {
            self.grace = grace
        }
        if let node = reader.value("pullTimeout"),
            let value = node.duration("spec.config.pullTimeout", atMost: LauncherLimits.placement, diagnostics: &diagnostics)
        {
            pullTimeout = value
        }
        if let node = reader.value("pullStallTimeout"),
            let value = node.duration("spec.config.pullStallTimeout", atMost: LauncherLimits.grace, diagnostics: &diagnostics)
        {
            pullStallTimeout = value
        }
        reader.reportUnknownKeys(diagnostics: &diagnostics)
    }
}
