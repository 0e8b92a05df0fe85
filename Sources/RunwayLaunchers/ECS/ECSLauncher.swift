import Crypto
import Foundation
import Logging
import RunwayAWS
import RunwayManifests
import RunwayModel
import Synchronization

/// `plugin: ecs` — each task is an ECS task (Fargate or EC2) started with `RunTask`, found again
/// by its `startedBy` and tags, and stopped with `StopTask`.
///
/// Clusters listed: those named by the ecs profiles this process has loaded or started on.
public final class ECSLauncher: TaskLauncher {
    public static let plugin = "ecs"
    /// The tag that carries the task's deterministic name (ECS tasks have none of their own).
    static let nameTag = "runway.io/task"
    static let digestTag = "runway.io/definition-digest"

    /// Where a profile's tasks live: endpoint, region and cluster.
    struct Scope: Hashable, Sendable {
        var endpoint: String
        var region: String
        var cluster: String
    }

    let environment: [String: String]
    let credentials: AWSCredentialChain
    let logger: Logger
    private let clients = ClientTable<Scope, ECSClient>()
    /// Registered task definitions by content digest.
    private let definitions = Mutex<[String: String]>([:])
    /// Tasks this launcher stopped. ECS keeps listing a stopped task for about an hour; it is
    /// gone for Runway, so it is left out of `listTasks` (and forgotten once ECS forgets it).
    private let stopped = Mutex<Set<String>>([])
    /// Task ARNs by name: started here, or live in the last listing.
    private let known = Mutex<[String: String]>([:])

    /// Which endpoints a manifest names may get requests signed with the controller's credentials.
    let trust: TrustPolicy

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, credentials: AWSCredentialChain? = nil,
        trust: TrustPolicy = TrustPolicy(), logger: Logger = Logger(label: "runway.launcher.ecs")
    ) {
        self.environment = environment
        self.trust = trust
        self.credentials = credentials ?? AWSCredentialChain(environment: environment)
        self.logger = logger
    }

    /// ECS API requests sent so far, retries included (for benchmarks and metrics).
    public var requestCount: Int { clients.requestCount }

    public func validate(config: ConfigNode) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let settings = ECSSettings(config, diagnostics: &diagnostics)
        if let endpoint = settings.endpoint, let node = config["endpoint"], !signsFor(endpoint) {
            diagnostics.append(.error(
                "untrusted-endpoint",
                "'spec.config.endpoint' \(endpoint) is an endpoint this manifest chose: the controller's AWS credentials never sign requests to it",
                at: node.location, hint: "set AWS_ENDPOINT_URL_ECS on the controller, or list the endpoint in --trusted-endpoints"))
        }
        if diagnostics.isEmpty, let scope = try? scope(settings, task: nil) { _ = client(scope) }
        return diagnostics
    }

    public func startTask(_ task: TaskSpec) async throws -> TaskHandle {
        let settings = try self.settings(task.config, task: task.name)
        let scope = try scope(settings, task: task.name)
        let client = client(scope)
        guard let image = task.image else {
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task.name, "no image: set the profile's spec.image, or RUNWAY_IMAGE on the controller")
        }
        return try await calling(task: task.name) {
            if let existing = find(task.name) {
                logger.info("adopting existing task", metadata: task.logMetadata.merging(["task.arn": "\(existing)"]) { $1 })
                return handle(existing, scope: scope, name: task.name)
            }
            let definition: String
            if let given = settings.taskDefinition {
                definition = given
            } else {
                definition = try await registeredDefinition(profile: task.owner.profile, image: image, task: task, settings: settings, client: client)
            }
            var environment = task.environment
            environment.merge(task.secretEnvironment) { $1 }
            var tags = settings.tags.merging(task.labels) { $1 }
            tags[Self.nameTag] = task.name
            let request = RunTaskRequest(
                cluster: settings.cluster, taskDefinition: definition,
                launchType: settings.capacityProviderStrategy.isEmpty ? (settings.launchType ?? .FARGATE).rawValue : nil,
                capacityProviderStrategy: settings.capacityProviderStrategy.isEmpty ? nil : settings.capacityProviderStrategy,
                platformVersion: settings.platformVersion,
                networkConfiguration: settings.subnets.isEmpty ? nil : .init(awsvpcConfiguration: .init(
                    subnets: settings.subnets, securityGroups: settings.securityGroups.isEmpty ? nil : settings.securityGroups,
                    assignPublicIp: settings.assignPublicIp ? "ENABLED" : "DISABLED")),
                overrides: .init(containerOverrides: [.init(
                    name: "runner", command: task.arguments.isEmpty ? nil : task.arguments,
                    environment: environment.sorted { $0.key < $1.key }.map { ECSKeyValue(name: $0.key, value: $0.value) })]),
                startedBy: Self.startedBy(task.labels[TaskLabels.managedBy] ?? "runway"),
                tags: tags.sorted { $0.key < $1.key }.map { ECSTag(key: $0.key, value: $0.value) },
                clientToken: String(task.name.prefix(64)))
            let response = try await client.call("RunTask", request, as: TasksResponse.self)
            guard let started = response.tasks?.first else {
                let failure = response.failures?.first
                throw LauncherError(
                    .unavailable, plugin: Self.plugin, task: task.name,
                    "RunTask placed no task: \(failure?.reason ?? "no reason given")\(failure?.detail.map { " (\($0))" } ?? "")")
            }
            known.withLock { $0[task.name] = started.taskArn }
            logger.info("started task", metadata: task.logMetadata.merging(["task.arn": "\(started.taskArn)"]) { $1 })
            return handle(started.taskArn, scope: scope, name: task.name)
        }
    }

    public func stopTask(_ handle: TaskHandle) async throws {
        let (scope, arn) = try parse(handle)
        try await calling(task: handle.name) {
            do {
                _ = try await client(scope).call(
                    "StopTask", StopTaskRequest(cluster: scope.cluster, task: arn, reason: "runway: stopping \(handle.name)"),
                    as: TasksResponse.self)
            } catch let error as ECSError where error.code == "InvalidParameterException" && error.message.lowercased().contains("not found") {
                return  // gone already
            }
        }
        stopped.withLock { _ = $0.insert(arn) }
        known.withLock { known in known = known.filter { $0.value != arn } }
        logger.info("stopped task", metadata: ["task": "\(handle.name)", "task.arn": "\(arn)"])
    }

    public func listTasks(managedBy controllerID: String) async throws -> [ObservedTask] {
        var observed: [ObservedTask] = []
        var listed = Set<String>()
        for (scope, client) in clients.all.sorted(by: { $0.key.cluster < $1.key.cluster }) {
            let tasks = try await calling(task: nil) { try await describeAll(controllerID: controllerID, scope: scope, client: client) }
            let stoppedByUs = stopped.withLock { $0 }
            for task in tasks {
                listed.insert(task.taskArn)
                if stoppedByUs.contains(task.taskArn) { continue }
                let tags = Dictionary((task.tags ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
                guard tags[TaskLabels.managedBy] == controllerID else { continue }  // exactly ours
                let (state, exitCode, reason) = Self.state(of: task)
                let labels = tags.filter { $0.key.hasPrefix(TaskLabels.prefix) && $0.key != Self.nameTag && $0.key != Self.digestTag }
                observed.append(ObservedTask(
                    id: handleID(task.taskArn, scope: scope), name: tags[Self.nameTag] ?? task.taskArn, plugin: Self.plugin,
                    labels: labels, state: state, exitCode: exitCode, reason: reason,
                    startedAt: task.createdAt.map { Date(timeIntervalSince1970: $0) }))
            }
        }
        stopped.withLock { $0.formIntersection(listed) }
        let live = observed.filter { $0.state != .exited }
        known.withLock { known in
            known = Dictionary(live.compactMap { task in task.id.split(separator: "|").last.map { (task.name, String($0)) } }) { a, _ in a }
        }
        return observed
    }

    // MARK: - Steps

    /// Every task `startedBy` this controller, running and stopped, with tags: all pages of
    /// `ListTasks`, then `DescribeTasks` 100 at a time.
    private func describeAll(controllerID: String, scope: Scope, client: ECSClient) async throws -> [ECSTask] {
        var arns: [String] = []
        for status in ["RUNNING", "STOPPED"] {
            arns += try await LauncherPaging.all(plugin: Self.plugin, listing: "ListTasks (\(status)) in \(scope.cluster)") { token in
                let page = try await client.call(
                    "ListTasks", ListTasksRequest(cluster: scope.cluster, startedBy: Self.startedBy(controllerID), desiredStatus: status, nextToken: token),
                    as: ListTasksResponse.self)
                return (page.taskArns, page.nextToken)
            }
        }
        var tasks: [ECSTask] = []
        var seen = Set<String>()
        let unique = arns.filter { seen.insert($0).inserted }
        for start in stride(from: 0, to: unique.count, by: 100) {
            let batch = Array(unique[start..<min(start + 100, unique.count)])
            tasks += try await client.call("DescribeTasks", DescribeTasksRequest(cluster: scope.cluster, tasks: batch), as: TasksResponse.self).tasks ?? []
        }
        return tasks
    }

    /// A live task of this name that a start already made, as last seen: started by this
    /// launcher, or listed by the last `listTasks` (a restarted controller lists before it
    /// starts). ECS itself dedups a repeated `RunTask` by its `clientToken` too.
    private func find(_ name: String) -> String? {
        known.withLock { $0[name] }
    }

    /// The task definition Runway keeps for a profile (family `runway-<profile>`, or for a job
    /// image `runway-<profile>-<image digest>`), registered again only when its content changes
    /// (a digest tag says which content it has).
    private func registeredDefinition(profile: String, image: String, task: TaskSpec, settings: ECSSettings, client: ECSClient)
        async throws -> String
    {
        let fargate = settings.capacityProviderStrategy.isEmpty && (settings.launchType ?? .FARGATE) == .FARGATE
        var container = RegisterTaskDefinitionRequest.Container(image: image, entryPoint: task.entrypoint, command: nil)
        container.memory = Int(settings.memory)  // the runner may use the whole task's memory
        // The profile's fromAWSSecret entries: ECS reads them with the execution role; their
        // values never pass through Runway. (Part of the definition: overrides cannot carry them.)
        let secrets = task.platformSecrets.sorted { $0.key < $1.key }.compactMap { name, reference in
            if case .awsSecret(let arn) = reference { RegisterTaskDefinitionRequest.Secret(name: name, valueFrom: arn) } else { nil }
        }
        if !secrets.isEmpty {
            guard settings.executionRoleArn != nil else {
                throw LauncherError(
                    .invalidSpec, plugin: Self.plugin, task: task.name,
                    "fromAWSSecret needs spec.config.executionRoleArn: ECS reads the secrets with the task's execution role")
            }
            container.secrets = secrets
        }
        if let group = settings.logGroup {
            container.logConfiguration = .init(options: [
                "awslogs-group": group, "awslogs-region": settings.region ?? "", "awslogs-stream-prefix": "runway",
            ])
        }
        var family = "runway-\(profile)"
        var containers = [container]
        var volumes: [RegisterTaskDefinitionRequest.Volume]?
        if let jobImage = task.jobImage {
            (family, containers, volumes) = Self.injected(family: family, runner: container, runnerImage: image, jobImage: jobImage)
        }
        var request = RegisterTaskDefinitionRequest(
            family: family, containerDefinitions: containers, volumes: volumes, requiresCompatibilities: fargate ? ["FARGATE"] : nil,
            networkMode: settings.subnets.isEmpty ? nil : "awsvpc", cpu: settings.cpu, memory: settings.memory,
            executionRoleArn: settings.executionRoleArn, taskRoleArn: settings.taskRoleArn, tags: [])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let digest = SHA256.hash(data: try encoder.encode(request)).prefix(8).map { String(format: "%02x", $0) }.joined()
        if let known = definitions.withLock({ $0[digest] }) { return known }
        struct Describe: Encodable {
            var taskDefinition: String
            var include = ["TAGS"]
        }
        if let current = try? await client.call("DescribeTaskDefinition", Describe(taskDefinition: family), as: TaskDefinitionResponse.self),
            current.tags?.contains(ECSTag(key: Self.digestTag, value: digest)) == true
        {
            definitions.withLock { $0[digest] = current.taskDefinition.taskDefinitionArn }
            return current.taskDefinition.taskDefinitionArn
        }
        request.tags = [ECSTag(key: Self.digestTag, value: digest), ECSTag(key: TaskLabels.profile, value: profile)]
        let registered = try await client.call("RegisterTaskDefinition", request, as: TaskDefinitionResponse.self)
        logger.info("registered task definition", metadata: ["profile": "\(profile)", "arn": "\(registered.taskDefinition.taskDefinitionArn)"])
        definitions.withLock { $0[digest] = registered.taskDefinition.taskDefinitionArn }
        return registered.taskDefinition.taskDefinitionArn
    }

    // MARK: - Mapping

    /// ECS's lifecycle onto Runway's: provisioning → pending; running and stopping → running;
    /// stopped → exited, with the runner container's exit code and a named reason.
    static func state(of task: ECSTask) -> (ObservedTask.State, Int32?, String?) {
        let runner = task.containers?.first { $0.name == "runner" } ?? task.containers?.first
        switch task.lastStatus ?? "PROVISIONING" {
        case "PROVISIONING", "PENDING", "ACTIVATING":
            return (.pending, nil, nil)
        case "STOPPED":
            var reason: String?
            switch task.stopCode {
            case "TaskFailedToStart": reason = "failed to start: \(task.stoppedReason ?? runner?.reason ?? "no reason given")"
            case "SpotInterruption": reason = "spot interruption"
            case "UserInitiated", "ServiceSchedulerInitiated", "TerminationNotice":
                reason = "stopped: \(task.stoppedReason ?? task.stopCode ?? "")"
            default: reason = nil  // EssentialContainerExited: the runner ended on its own
            }
            if reason == nil, let containerReason = runner?.reason, !containerReason.isEmpty { reason = containerReason }
            return (.exited, runner?.exitCode, reason)
        default:
            return (.running, nil, nil)
        }
    }

    /// ECS's `startedBy` (≤ 36 letters, digits, `-` and `_`) for a controller id.
    static func startedBy(_ controllerID: String) -> String {
        TaskLabels.shortened(String(controllerID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }), limit: 36)
    }

    // MARK: - Helpers

    private func settings(_ config: ConfigNode?, task: String) throws -> ECSSettings {
        guard let config else { throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task, "an ecs profile needs spec.config (cluster, subnets…)") }
        return try ECSSettings.read(config, plugin: Self.plugin, task: task)
    }

    private func scope(_ settings: ECSSettings, task: String?) throws -> Scope {
        guard let region = settings.region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"], !region.isEmpty else {
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task, "no region: set spec.config.region, or AWS_REGION on the controller")
        }
        if let endpoint = settings.endpoint, !signsFor(endpoint) {
            throw LauncherError(
                .invalidSpec, plugin: Self.plugin, task: task,
                "spec.config.endpoint \(endpoint) is not an endpoint the controller's AWS credentials sign for (set AWS_ENDPOINT_URL_ECS, or --trusted-endpoints)")
        }
        let endpoint = settings.endpoint ?? environment["AWS_ENDPOINT_URL_ECS"] ?? environment["AWS_ENDPOINT_URL"] ?? "https://ecs.\(region).amazonaws.com"
        return Scope(endpoint: endpoint, region: region, cluster: settings.cluster)
    }

    /// Whether requests signed with the controller's credentials may go to `endpoint`, which a
    /// manifest named.
    private func signsFor(_ endpoint: String) -> Bool {
        trust.trusts(endpoint: endpoint, configured: [environment["AWS_ENDPOINT_URL_ECS"], environment["AWS_ENDPOINT_URL"]])
    }

    private func client(_ scope: Scope) -> ECSClient {
        clients.client(scope) { ECSClient(endpoint: scope.endpoint, region: scope.region, credentials: credentials) }
    }

    /// A handle names where the task lives: `<endpoint>|<region>|<cluster>|<task ARN>`.
    private func handleID(_ arn: String, scope: Scope) -> String { [scope.endpoint, scope.region, scope.cluster, arn].joined(separator: "|") }

    private func handle(_ arn: String, scope: Scope, name: String) -> TaskHandle {
        TaskHandle(plugin: Self.plugin, id: handleID(arn, scope: scope), name: name)
    }

    private func parse(_ handle: TaskHandle) throws -> (Scope, String) {
        let parts = handle.id.split(separator: "|", maxSplits: 3).map(String.init)
        guard parts.count == 4 else { throw LauncherError(.invalidSpec, plugin: Self.plugin, task: handle.name, "not an ecs task id: \(handle.id)") }
        return (Scope(endpoint: parts[0], region: parts[1], cluster: parts[2]), parts[3])
    }

    /// ECS errors as launcher errors that say which profile field to look at.
    private func calling<T>(task: String?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ECSError {
            let hint: String
            let code: LauncherError.Code
            switch error.code {
            case "ClusterNotFoundException": (code, hint) = (.invalidSpec, " (check spec.config.cluster and spec.config.region)")
            case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException":
                (code, hint) = (.unauthorized, " (check the controller's AWS credentials and the IAM policy in the README)")
            case "InvalidParameterException", "ClientException":
                (code, hint) = (.invalidSpec, " (check spec.config: subnets, securityGroups, launchType, taskDefinition)")
            case "PlatformUnknownException", "PlatformTaskDefinitionIncompatibilityException":
                (code, hint) = (.invalidSpec, " (check spec.config.platformVersion)")
            default: (code, hint) = (error.isRetryable || error.code == "Unreachable" ? .unavailable : .invalidSpec, "")
            }
            throw LauncherError(code, plugin: Self.plugin, task: task, "\(error)\(hint)")
        } catch let error as AWSCredentialError {
            throw LauncherError(.unauthorized, plugin: Self.plugin, task: task, "\(error)")
        }
    }
}
