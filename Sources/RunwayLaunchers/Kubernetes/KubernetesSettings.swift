import RunwayManifests
import RunwayModel

/// A kubernetes profile's `config`, read and checked at `runway validate` time. Every key is
/// optional; unknown keys are errors, also inside the Kubernetes objects it takes.
struct KubernetesSettings: LauncherSettings, Hashable {
    /// A kubeconfig file; default `KUBECONFIG`, else in-cluster when run in a pod, else `~/.kube/config`.
    var kubeconfig: String?
    /// The kubeconfig context; default its current context.
    var context: String?
    /// Default the context's namespace, else the pod's own (in-cluster), else `default`.
    var namespace: String?
    var serviceAccount: String?
    var imagePullPolicy: String?
    var imagePullSecrets: [String] = []
    /// `requests`/`limits` of `cpu`, `memory`, `ephemeral-storage`, as written (`500m`, `512Mi`).
    var resources: [String: [String: String]] = [:]
    var nodeSelector: [String: String] = [:]
    var tolerations: JSONValue?
    var affinity: JSONValue?
    var priorityClassName: String?
    /// Laid over the defaults below, key by key.
    var securityContext: JSONValue = Self.defaultSecurityContext
    var podSecurityContext: JSONValue = Self.defaultPodSecurityContext
    var annotations: [String: String] = [:]
    var labels: [String: String] = [:]
    var automountServiceAccountToken = false
    /// How long a finished Job stays if Runway never deletes it (a safety net only). Default 1h.
    var ttlSecondsAfterFinished = 3600
    /// How long a pod may stay unschedulable before its attempt fails with that reason. Default 2m.
    var unschedulableTimeout: Duration = .seconds(120)
    /// How long a stop lets the runner finish after SIGTERM (the pod's grace period). Default 10s.
    var grace: Duration = .seconds(10)

    /// No privilege escalation: the runner needs none. Each key can be overridden.
    static let defaultSecurityContext = JSONValue.object(["allowPrivilegeEscalation": .bool(false)])
    /// Non-root as a fixed user, 65532:65532 (distroless's `nonroot`): most stock images (golang,
    /// node, python) run as root, which `runAsNonRoot` alone would refuse to start. A profile that
    /// names any of ``userKeys`` in its `podSecurityContext` decides the user itself: the default
    /// UID and GID are then left out (`runAsNonRoot: false` runs the image's own user, root for
    /// most; `runAsNonRoot: true` alone needs an image that names a numeric non-root user).
    static let defaultPodSecurityContext = JSONValue.object([
        "runAsNonRoot": .bool(true), "runAsUser": .integer(nonRootUser), "runAsGroup": .integer(nonRootUser),
    ])
    static let nonRootUser = 65532
    static let userKeys: Set = ["runAsNonRoot", "runAsUser", "runAsGroup"]

    init() {}

    init(_ node: ConfigNode, diagnostics: inout [Diagnostic]) {
        guard var reader = MappingReader(node, context: "spec.config", diagnostics: &diagnostics) else { return }
        func string(_ key: String) -> String? { reader.value(key)?.string("spec.config.\(key)", diagnostics: &diagnostics) }
        func shaped(_ key: String, _ shape: KubernetesShape) -> JSONValue? {
            reader.value(key).flatMap { shape.value(of: $0, field: "spec.config.\(key)", diagnostics: &diagnostics) }
        }
        kubeconfig = string("kubeconfig")
        context = string("context")
        if let node = reader.value("namespace"), let text = node.string("spec.config.namespace", diagnostics: &diagnostics) {
            if Self.isDNSLabel(text) {
                namespace = text
            } else {
                diagnostics.append(.error("bad-value", "'spec.config.namespace' must be a Kubernetes namespace name (lowercase letters, digits, '-'; at most 63), found '\(text)'", at: node.location))
            }
        }
        serviceAccount = string("serviceAccount")
        if let node = reader.value("imagePullPolicy") {
            imagePullPolicy = KubernetesShape.oneOf(["Always", "IfNotPresent", "Never"])
                .value(of: node, field: "spec.config.imagePullPolicy", diagnostics: &diagnostics).flatMap { if case .string(let s) = $0 { s } else { nil } }
        }
        imagePullSecrets = reader.value("imagePullSecrets")?.stringList("spec.config.imagePullSecrets", diagnostics: &diagnostics) ?? []
        if let node = reader.value("resources"), var kinds = MappingReader(node, context: "spec.config.resources", diagnostics: &diagnostics) {
            for kind in ["requests", "limits"] {
                guard let amounts = kinds.value(kind), var reader = MappingReader(amounts, context: "spec.config.resources.\(kind)", diagnostics: &diagnostics) else { continue }
                var values: [String: String] = [:]
                for name in ["cpu", "memory", "ephemeral-storage"] {
                    guard let amount = reader.value(name) else { continue }
                    let field = "spec.config.resources.\(kind).\(name)"
                    let valid = name == "cpu" ? amount.millicores(field, diagnostics: &diagnostics) != nil : amount.memoryBytes(field, diagnostics: &diagnostics) != nil
                    if valid, let text = amount.scalar?.text { values[name] = text }
                }
                reader.reportUnknownKeys(diagnostics: &diagnostics)
                resources[kind] = values
            }
            kinds.reportUnknownKeys(diagnostics: &diagnostics)
        }
        nodeSelector = reader.value("nodeSelector")?.stringMap("spec.config.nodeSelector", diagnostics: &diagnostics) ?? [:]
        tolerations = shaped("tolerations", .list(KubernetesShapes.toleration))
        affinity = shaped("affinity", KubernetesShapes.affinity)
        priorityClassName = string("priorityClassName")
        let containerNode = reader.value("securityContext"), podNode = reader.value("podSecurityContext")
        if let node = containerNode, let given = KubernetesShapes.securityContext.value(of: node, field: "spec.config.securityContext", diagnostics: &diagnostics) {
            securityContext = securityContext.overlaid(with: given)
        }
        if let node = podNode, let given = KubernetesShapes.podSecurityContext.value(of: node, field: "spec.config.podSecurityContext", diagnostics: &diagnostics) {
            if case .object(let keys) = given, !Self.userKeys.isDisjoint(with: keys.keys), case .object(var base) = podSecurityContext {
                base["runAsUser"] = nil
                base["runAsGroup"] = nil
                podSecurityContext = .object(base)
            }
            podSecurityContext = podSecurityContext.overlaid(with: given)
        }
        if let (user, nonRoot) = effectiveUser(), nonRoot, user == 0 {
            diagnostics.append(.error(
                "bad-value", "runAsUser 0 under runAsNonRoot: true: the kubelet would refuse every container of the pod (\"container's runAsUser breaks non-root policy\")",
                at: (containerNode ?? podNode ?? node).location, hint: "to run as root, set 'runAsNonRoot: false' in spec.config.podSecurityContext"))
        }
        annotations = reader.value("annotations")?.stringMap("spec.config.annotations", diagnostics: &diagnostics) ?? [:]
        if let node = reader.value("labels") {
            labels = node.extraLabels("spec.config.labels", diagnostics: &diagnostics)
            for entry in node.entries ?? [] {
                if let value = entry.value.scalar?.text, !Self.isLabelValue(value) {
                    diagnostics.append(.error("bad-value", "label value '\(value)' of 'spec.config.labels.\(entry.key)' is not a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')", at: entry.value.location))
                }
            }
        }
        if let node = reader.value("automountServiceAccountToken"), let value = node.bool("spec.config.automountServiceAccountToken", diagnostics: &diagnostics) {
            automountServiceAccountToken = value
        }
        if let node = reader.value("ttlSecondsAfterFinished"), let value = node.integer("spec.config.ttlSecondsAfterFinished", diagnostics: &diagnostics) {
            if value < 0 {
                diagnostics.append(.error("bad-value", "'spec.config.ttlSecondsAfterFinished' must not be negative", at: node.location))
            } else {
                ttlSecondsAfterFinished = value
            }
        }
        if let node = reader.value("unschedulableTimeout"),
            let value = node.duration("spec.config.unschedulableTimeout", atMost: LauncherLimits.placement, diagnostics: &diagnostics)
        {
            unschedulableTimeout = value
        }
        if let node = reader.value("grace"), let value = node.duration("spec.config.grace", atMost: LauncherLimits.grace, diagnostics: &diagnostics) { grace = value }
        reader.reportUnknownKeys(diagnostics: &diagnostics)
    }

    /// The runner container's user and `runAsNonRoot` as the kubelet sees them (the container's
    /// security context over the pod's), when both are known.
    func effectiveUser() -> (Int, Bool)? {
        func field(_ key: String) -> JSONValue? {
            for context in [securityContext, podSecurityContext] {
                if case .object(let keys) = context, let value = keys[key] { return value }
            }
            return nil
        }
        guard case .integer(let user) = field("runAsUser"), case .bool(let nonRoot) = field("runAsNonRoot") else { return nil }
        return (user, nonRoot)
    }

    static func isDNSLabel(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 63 && text.first != "-" && text.last != "-"
            && text.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    static func isLabelValue(_ text: String) -> Bool {
        text.isEmpty || (text.count <= 63 && text.first!.isASCII && (text.first!.isLetter || text.first!.isNumber)
            && text.last!.isASCII && (text.last!.isLetter || text.last!.isNumber)
            && text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || "-_.".contains($0) })
    }
}
