import RunwayModel

/// The keys of Waypoint's task launcher configs (docker, kubernetes, nomad, aws-ecs), each mapped
/// onto a Runway profile's config or spec, or named as unmapped with the reason.
struct WaypointConfigMapping {
    let plugin: String
    let at: SourceLocation
    private(set) var unmapped: [WaypointProfile.Unmapped] = []
    private var config: [ConfigNode.Entry] = []

    init(plugin: String, at: SourceLocation) {
        self.plugin = plugin
        self.at = at
    }

    mutating func map(_ node: ConfigNode, into profile: inout RunnerProfile) {
        for item in Self.snakeCased(node).entries ?? [] {
            let value = Self.block(item.value)
            switch (plugin, item.key) {
            // docker
            case ("docker", "client_config"):
                for part in value.entries ?? [] {
                    if part.key == "host", let host = part.value.scalar?.text {
                        set("host", string(host))
                    } else {
                        skip("client_config.\(part.key)", "the controller's own Docker settings apply (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY)")
                    }
                }
            case ("docker", "binds"): set("binds", value)
            case ("docker", "force_pull"): set("pull", string(value.scalar?.text == "true" ? "always" : "missing"))
            case ("docker", "labels"): set("labels", value)
            case ("docker", "networks"):
                let networks = value.items?.compactMap(\.scalar?.text) ?? value.scalar.map { [$0.text] } ?? []
                if let first = networks.first { set("network", string(first)) }
                if networks.count > 1 { skip("networks", "a Runway task joins one network; '\(first(networks))' was kept") }
            case ("docker", "resources"):
                var resources: [ConfigNode.Entry] = []
                for part in value.entries ?? [] {
                    switch part.key {
                    case "cpu":
                        // CPU shares (1024 = one CPU) become that many CPUs, as a limit.
                        if let shares = part.value.scalar.flatMap({ Double($0.text) }), shares > 0 {
                            resources.append(entry("cpu", string(String(format: "%g", shares / 1024))))
                        }
                    case "memory":
                        if let size = part.value.scalar?.text { resources.append(entry("memory", string(Self.kubernetesSize(size)))) }
                    default: skip("resources.\(part.key)", "not a resource Runway sets on Docker")
                    }
                }
                if !resources.isEmpty { set("resources", ConfigNode(.mapping(resources), at: at)) }
            case ("docker", "static_environment"):
                for part in value.entries ?? [] { if let text = part.value.scalar?.text { profile.environment[part.key] = text } }
            case ("docker", "debug_containers"):
                skip("debug_containers", "Runway removes each task once its job ended; the job's output stays in `runway logs`")
            // kubernetes
            case ("kubernetes", "context"), ("kubernetes", "kubeconfig"), ("kubernetes", "namespace"): set(item.key, value)
            case ("kubernetes", "service_account"): set("serviceAccount", value)
            case ("kubernetes", "image_pull_policy"): set("imagePullPolicy", value)
            case ("kubernetes", "image_secret"): set("imagePullSecrets", list([value]))
            case ("kubernetes", "cpu"), ("kubernetes", "memory"), ("kubernetes", "ephemeral_storage"):
                addKubernetesResource(item.key == "ephemeral_storage" ? "ephemeral-storage" : item.key, value)
            case ("kubernetes", "security_context"):
                let names = ["run_as_user": "runAsUser", "run_as_non_root": "runAsNonRoot", "fs_group": "fsGroup"]
                var context: [ConfigNode.Entry] = []
                for part in value.entries ?? [] {
                    if let name = names[part.key] {
                        context.append(entry(name, part.value))
                    } else {
                        skip("security_context.\(part.key)", "not a pod security setting Runway knows")
                    }
                }
                if !context.isEmpty { set("podSecurityContext", ConfigNode(.mapping(context), at: at)) }
            case ("kubernetes", "watchtask_startup_timeout_seconds"):
                if let seconds = value.scalar.flatMap({ Int($0.text) }), seconds > 0 { profile.startTimeout = .seconds(seconds) }
            // nomad
            case ("nomad", "datacenter"): set("datacenters", list([value]))
            case ("nomad", "namespace"), ("nomad", "region"): set(item.key, value)
            case ("nomad", "nomad_host"): set("address", value)
            case ("nomad", "resources_cpu"): addNomadResource("cpu", value)
            case ("nomad", "resources_memory"): addNomadResource("memory", value)
            // aws-ecs
            case ("aws-ecs", "cluster"), ("aws-ecs", "region"): set(item.key, value)
            case ("aws-ecs", "log_group"): set("logGroup", value)
            case ("aws-ecs", "odr_cpu"): set("cpu", string(value.scalar?.text ?? ""))
            case ("aws-ecs", "odr_memory"): set("memory", string(value.scalar?.text ?? ""))
            case ("aws-ecs", "security_group_id"): set("securityGroups", list([value]))
            case ("aws-ecs", "subnets"):
                let subnets = value.items ?? (value.scalar?.text ?? "").split(separator: ",").map {
                    string($0.trimmingCharacters(in: .whitespaces))
                }
                set("subnets", list(subnets))
            case ("aws-ecs", "task_role_name"): set("taskRoleArn", value)  // ECS takes a role's short name here
            case ("aws-ecs", "execution_role_name"):
                skip("execution_role_name", "Runway takes the execution role's ARN: set spec.config.executionRoleArn to arn:aws:iam::ACCOUNT:role/\(value.scalar?.text ?? "NAME")")
            case ("aws-ecs", "odr_image"):
                skip("odr_image", "Waypoint's runner image; Runway's tasks run the controller's image (RUNWAY_IMAGE), or spec.image when it carries `runway runner`")
            default:
                skip(item.key, "not a key of Waypoint's \(plugin) task launcher that Runway knows")
            }
        }
        if !config.isEmpty { profile.config = ConfigNode(.mapping(config), at: at) }
    }

    // MARK: - Building

    private mutating func set(_ key: String, _ value: ConfigNode) {
        config.removeAll { $0.key == key }
        config.append(entry(key, value))
    }

    private mutating func skip(_ key: String, _ reason: String) {
        unmapped.append(WaypointProfile.Unmapped(key: key, reason: reason))
    }

    /// A Waypoint `{request, limit}` as Runway's `resources.requests` / `resources.limits`.
    private mutating func addKubernetesResource(_ name: String, _ value: ConfigNode) {
        var resources = config.first { $0.key == "resources" }?.value.entries ?? []
        for (waypoint, runway) in [("request", "requests"), ("limit", "limits")] {
            guard let amount = value.entries?.first(where: { $0.key == waypoint })?.value.scalar?.text, !amount.isEmpty else { continue }
            var group = resources.first { $0.key == runway }?.value.entries ?? []
            group.append(entry(name, string(amount)))
            resources.removeAll { $0.key == runway }
            resources.append(entry(runway, ConfigNode(.mapping(group), at: at)))
        }
        for part in value.entries ?? [] where part.key != "request" && part.key != "limit" {
            skip("\(name).\(part.key)", "a resource takes a request and a limit")
        }
        if !resources.isEmpty { set("resources", ConfigNode(.mapping(resources), at: at)) }
    }

    private mutating func addNomadResource(_ name: String, _ value: ConfigNode) {
        var resources = config.first { $0.key == "resources" }?.value.entries ?? []
        resources.append(entry(name, ConfigNode(.scalar(.init(value.scalar?.text ?? "", isQuoted: false)), at: at)))
        set("resources", ConfigNode(.mapping(resources), at: at))
    }

    private func entry(_ key: String, _ value: ConfigNode) -> ConfigNode.Entry { ConfigNode.Entry(key: key, keyLocation: at, value: value) }
    private func string(_ text: String) -> ConfigNode { ConfigNode(.scalar(.init(text, isQuoted: true)), at: at) }
    private func list(_ items: [ConfigNode]) -> ConfigNode { ConfigNode(.sequence(items), at: at) }
    private func first(_ items: [String]) -> String { items.first ?? "" }

    /// The config with Waypoint's own snake_case keys throughout (the HCL reader writes Runway's
    /// camelCase), so HCL and JSON configs read alike. Labels and environment maps keep theirs.
    static func snakeCased(_ node: ConfigNode, inMap: Bool = false) -> ConfigNode {
        switch node.value {
        case .scalar: return node
        case .sequence(let items): return ConfigNode(.sequence(items.map { snakeCased($0) }), at: node.location)
        case .mapping(let entries):
            return ConfigNode(.mapping(entries.map { item in
                let key = inMap ? item.key : snake(item.key)
                let isMap = key == "labels" || key == "static_environment"
                return ConfigNode.Entry(key: key, keyLocation: item.keyLocation, value: snakeCased(item.value, inMap: isMap))
            }), at: node.location)
        }
    }

    static func snake(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase, !out.isEmpty { out += "_" }
            out += character.lowercased()
        }
        return out
    }

    /// An HCL block may come as a list of one mapping; its body either way.
    static func block(_ node: ConfigNode) -> ConfigNode {
        if let items = node.items, items.count == 1, items[0].entries != nil { return items[0] }
        return node
    }

    /// A go-units size (`512MB`, `44kB`, `1GB`, bytes) as a Kubernetes-style one (`512M`, `44k`).
    static func kubernetesSize(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, unit) in [("KiB", "Ki"), ("MiB", "Mi"), ("GiB", "Gi"), ("kB", "k"), ("KB", "k"), ("MB", "M"), ("GB", "G"), ("B", "")]
        where trimmed.hasSuffix(suffix) {
            return String(trimmed.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces) + unit
        }
        return trimmed
    }
}
