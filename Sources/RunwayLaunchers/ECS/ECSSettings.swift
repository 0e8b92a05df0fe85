import RunwayManifests
import RunwayModel

/// An ecs profile's `config`, read and checked at `runway validate` time (unknown keys are errors).
struct ECSSettings: LauncherSettings, Hashable {
    enum LaunchType: String, Sendable, Hashable, CaseIterable { case FARGATE, EC2 }

    struct CapacityProvider: Sendable, Hashable, Encodable {
        var capacityProvider: String
        var weight: Int?
        var base: Int?
    }

    /// Required: the cluster's name or ARN.
    var cluster = ""
    /// Default `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    var region: String?
    /// Default FARGATE (unless a capacity provider strategy is given).
    var launchType: LaunchType?
    var capacityProviderStrategy: [CapacityProvider] = []
    var subnets: [String] = []
    var securityGroups: [String] = []
    var assignPublicIp = false
    /// A family, `family:revision` or ARN to run; when nil Runway registers `runway-<profile>`.
    var taskDefinition: String?
    /// Task size and roles for the task definition Runway registers. Defaults `256` and `512`.
    var cpu = "256"
    var memory = "512"
    var executionRoleArn: String?
    var taskRoleArn: String?
    /// An awslogs log group for the runner's output (the execution role must allow it).
    var logGroup: String?
    var platformVersion: String?
    var tags: [String: String] = [:]
    /// A custom ECS endpoint (tests, VPC endpoints). Default `https://ecs.<region>.amazonaws.com`.
    var endpoint: String?

    init() {}

    init(_ node: ConfigNode, diagnostics: inout [Diagnostic]) {
        guard var reader = MappingReader(node, context: "spec.config", diagnostics: &diagnostics) else { return }
        func string(_ key: String) -> String? { reader.value(key)?.string("spec.config.\(key)", diagnostics: &diagnostics) }
        func list(_ key: String) -> [String] { reader.value(key)?.stringList("spec.config.\(key)", diagnostics: &diagnostics) ?? [] }
        if let cluster = reader.required("cluster", diagnostics: &diagnostics, hint: "the ECS cluster's name or ARN") {
            self.cluster = cluster.string("spec.config.cluster", diagnostics: &diagnostics) ?? ""
        }
        region = string("region")
        if let node = reader.value("launchType"), let text = node.string("spec.config.launchType", diagnostics: &diagnostics) {
            if let type = LaunchType(rawValue: text) {
                launchType = type
            } else {
                diagnostics.append(.error("bad-value", "'spec.config.launchType' must be FARGATE or EC2, found '\(text)'", at: node.location))
            }
        }
        if let node = reader.value("capacityProviderStrategy") {
            for (index, item) in (node.items ?? []).enumerated() {
                let field = "spec.config.capacityProviderStrategy[\(index)]"
                guard var entry = MappingReader(item, context: field, diagnostics: &diagnostics) else { continue }
                let name = entry.required("capacityProvider", diagnostics: &diagnostics)?.string("\(field).capacityProvider", diagnostics: &diagnostics)
                let weight = entry.value("weight")?.integer("\(field).weight", diagnostics: &diagnostics)
                let base = entry.value("base")?.integer("\(field).base", diagnostics: &diagnostics)
                entry.reportUnknownKeys(diagnostics: &diagnostics)
                if let name { capacityProviderStrategy.append(CapacityProvider(capacityProvider: name, weight: weight, base: base)) }
            }
            if node.items == nil { diagnostics.append(node.wrongType("spec.config.capacityProviderStrategy", expected: "a list")) }
            if launchType != nil && !capacityProviderStrategy.isEmpty {
                diagnostics.append(.error(
                    "bad-value", "'spec.config.launchType' and 'spec.config.capacityProviderStrategy' exclude each other; choose one",
                    at: node.location))
            }
        }
        subnets = list("subnets")
        securityGroups = list("securityGroups")
        if let node = reader.value("assignPublicIp"), let value = node.bool("spec.config.assignPublicIp", diagnostics: &diagnostics) {
            assignPublicIp = value
        }
        taskDefinition = string("taskDefinition")
        for key in ["cpu", "memory"] {
            guard let node = reader.value(key) else { continue }
            guard let text = node.scalar?.text, let value = Int(text), value > 0 else {
                diagnostics.append(node.wrongType("spec.config.\(key)", expected: "a positive number (\(key == "cpu" ? "CPU units, 1024 = 1 vCPU" : "MiB"))"))
                continue
            }
            if key == "cpu" { cpu = String(value) } else { memory = String(value) }
        }
        executionRoleArn = string("executionRoleArn")
        taskRoleArn = string("taskRoleArn")
        logGroup = string("logGroup")
        platformVersion = string("platformVersion")
        tags = reader.value("tags")?.stringMap("spec.config.tags", diagnostics: &diagnostics) ?? [:]
        endpoint = string("endpoint")
        if taskDefinition != nil {
            for key in ["cpu", "memory", "executionRoleArn", "taskRoleArn", "logGroup"] where node[key] != nil {
                diagnostics.append(.error(
                    "bad-value", "'spec.config.\(key)' applies to the task definition Runway registers; with 'taskDefinition' set it has no effect",
                    at: node[key]!.location))
            }
        }
        if (launchType ?? .FARGATE) == .FARGATE && capacityProviderStrategy.isEmpty && subnets.isEmpty {
            diagnostics.append(.error(
                "missing-field", "'spec.config' needs 'subnets' for FARGATE tasks (awsvpc networking)", at: node.location,
                hint: "list the subnet ids the runner tasks start in"))
        }
        reader.reportUnknownKeys(diagnostics: &diagnostics)
    }
}
