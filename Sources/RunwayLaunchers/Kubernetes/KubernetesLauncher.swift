import Foundation
import Logging
import RunwayHTTP
import RunwayManifests
import RunwayModel
import Synchronization

/// `plugin: kubernetes` — each attempt is a `batch/v1` Job (backoffLimit 0, restartPolicy Never:
/// Runway owns retries) with Runway's labels on the Job and its pod template. The job's secret
/// environment and the task token go into a per-attempt Secret owned by the Job, read through
/// `envFrom`: they never appear in the pod spec.
///
/// Namespaces listed: those of the kubernetes profiles this process has loaded or started on.
public final class KubernetesLauncher: TaskLauncher {
    public static let plugin = "kubernetes"
    /// The annotation carrying the task's full name when the object's name had to be shortened.
    static let taskAnnotation = "runway.io/task"
    /// Waiting reasons that mean the pod will not start by itself.
    static let startFailures: Set = [
        "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError",
        "CreateContainerError", "RunContainerError",
    ]

    /// Where a profile's tasks live: which cluster (as the profile reaches it) and namespace.
    struct Scope: Hashable, Sendable {
        var kubeconfig: String?
        var context: String?
        var namespace: String
    }

    struct ClusterKey: Hashable, Sendable {
        var kubeconfig: String?
        var context: String?
    }

    let environment: [String: String]
    let logger: Logger
    static let credentialTimeoutVariable = "RUNWAY_KUBE_CREDENTIAL_TIMEOUT"

    /// How long a kubeconfig's credential plugin may run: `RUNWAY_KUBE_CREDENTIAL_TIMEOUT`,
    /// default 30s (a value that is not a duration is an error of every kubernetes profile).
    var pluginTimeout: Duration {
        environment[Self.credentialTimeoutVariable].flatMap { try? Duration.parseManifest($0) } ?? KubernetesTokenSource.pluginTimeout
    }
    /// Items per list page (`limit`); the API hands out the rest with `continue`.
    let pageSize: Int
    private let clients = ClientTable<ClusterKey, KubernetesClient>()
    private let scopes = Mutex<[Scope: Duration]>([:])  // → the profile's unschedulable timeout
    /// Once the controller asks for changes: a watched copy of each scope's Jobs and Pods.
    let watching = Mutex<(changed: (@Sendable () -> Void)?, informers: [Scope: Informers])>((nil, [:]))

    /// Which kubeconfig files a manifest may name.
    let trust: TrustPolicy

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, pageSize: Int = 500, trust: TrustPolicy = TrustPolicy(),
        logger: Logger = Logger(label: "runway.launcher.kubernetes")
    ) {
        self.environment = environment
        self.trust = trust
        self.pageSize = pageSize
        self.logger = logger
    }

    /// API requests sent so far, retries included (for benchmarks and metrics).
    public var requestCount: Int { clients.requestCount }

    public func validate(config: ConfigNode) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let settings = KubernetesSettings(config, diagnostics: &diagnostics)
        if let text = environment[Self.credentialTimeoutVariable], (try? Duration.parseManifest(text)) == nil {
            diagnostics.append(.error(
                "bad-value", "\(Self.credentialTimeoutVariable) must be a duration like 30s or 2m, found '\(text)'", at: config.location))
        }
        if let refusal = KubernetesAccess.manifestRefusal(
            kubeconfig: settings.kubeconfig, context: settings.context, environment: environment, trust: trust),
            let node = config["kubeconfig"]
        {
            let code = refusal.description.hasPrefix("kubeconfig: ") ? "secret-not-allowed" : "exec-not-allowed"
            diagnostics.append(.error(code, refusal.description, at: node.location))
        }
        if diagnostics.isEmpty, let (scope, _) = try? scope(settings) { remember(scope, settings) }
        return diagnostics
    }

    public func startTask(_ task: TaskSpec) async throws -> TaskHandle {
        let settings = try KubernetesSettings.read(task.config, plugin: Self.plugin, task: task.name)
        let (scope, client) = try scope(settings, task: task.name)
        remember(scope, settings)
        guard let image = task.image else {
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task.name, "no image: set the profile's spec.image, or RUNWAY_IMAGE on the controller")
        }
        let name = TaskLabels.shortened(task.name, limit: 63)
        let secretName = name + "-env"
        let controllerID = task.labels[TaskLabels.managedBy] ?? ""
        return try await calling(task: task.name, client) {
            try await putSecret(secretName, task: task, scope: scope, client: client)
            let job = Self.job(name: name, secret: secretName, image: image, task: task, settings: settings)
            let created: Kubernetes.Job
            do {
                created = try await LauncherJSON.decode(Kubernetes.Job.self, plugin: Self.plugin, client.send(KubernetesCall(
                    verb: "create", resource: .jobs, namespace: scope.namespace, body: try LauncherJSON.encode(job))))
                logger.info("started task", metadata: task.logMetadata.merging(["namespace": "\(scope.namespace)", "k8s.job": "\(name)"]) { $1 })
            } catch let error as KubernetesAPIError where error.status == 409 {
                // It exists: ours (a start that already happened) is adopted; anything else is a conflict.
                let existing = try await LauncherJSON.decode(Kubernetes.Job.self, plugin: Self.plugin, client.send(KubernetesCall(
                    verb: "get", resource: .jobs, namespace: scope.namespace, name: name)))
                guard existing.metadata.labels?[TaskLabels.managedBy] == controllerID else {
                    throw LauncherError(.conflict, plugin: Self.plugin, task: task.name,
                        "a Job named \(name) exists in namespace \(scope.namespace) and is not Runway's (controller \(controllerID)); rename or delete it")
                }
                logger.info("adopting existing task", metadata: task.logMetadata.merging(["namespace": "\(scope.namespace)", "k8s.job": "\(name)"]) { $1 })
                created = existing
            }
            // The Secret goes with its Job (garbage collection), also when the Job is deleted out of band.
            if let uid = created.metadata.uid {
                let owner = ["metadata": ["ownerReferences": [Kubernetes.OwnerReference(apiVersion: "batch/v1", kind: "Job", name: name, uid: uid)]]]
                _ = try await client.send(KubernetesCall(
                    verb: "patch", resource: .secrets, namespace: scope.namespace, name: secretName, body: try LauncherJSON.encode(owner),
                    contentType: "application/merge-patch+json"))
            }
            return TaskHandle(plugin: Self.plugin, id: Self.handleID(scope, name), name: task.name)
        }
    }

    public func stopTask(_ handle: TaskHandle) async throws {
        let (scope, name) = try Self.parse(handle)
        let client = try client(ClusterKey(kubeconfig: scope.kubeconfig, context: scope.context), task: handle.name)
        var diagnostics: [Diagnostic] = []
        let settings = handle.config.map { KubernetesSettings($0, diagnostics: &diagnostics) } ?? KubernetesSettings()
        try await calling(task: handle.name, client) {
            // Background: the Job goes now, its pods (given the grace period) and Secret after it.
            let options = #"{"apiVersion":"v1","kind":"DeleteOptions","propagationPolicy":"Background","gracePeriodSeconds":\#(Self.seconds(settings.grace))}"#
            for (resource, object) in [(KubernetesResource.jobs, name), (.secrets, name + "-env")] {
                do {
                    _ = try await client.send(KubernetesCall(
                        verb: "delete", resource: resource, namespace: scope.namespace, name: object, body: Array(options.utf8)))
                } catch let error as KubernetesAPIError where error.status == 404 {
                    continue  // gone already
                }
            }
        }
        logger.info("stopped task", metadata: ["task": "\(handle.name)", "namespace": "\(scope.namespace)", "k8s.job": "\(name)"])
    }

    public func listTasks(managedBy controllerID: String) async throws -> [ObservedTask] {
        var observed: [ObservedTask] = []
        let now = Date()
        for (scope, unschedulableTimeout) in scopes.withLock({ $0 }).sorted(by: { $0.key.namespace < $1.key.namespace }) {
            let client = try client(ClusterKey(kubeconfig: scope.kubeconfig, context: scope.context), task: nil)
            let selector = "\(TaskLabels.managedBy)=\(controllerID)"
            let (jobs, pods) = try await objects(of: scope, selector: selector, client: client)
            var podsByJob: [String: [Kubernetes.Pod]] = [:]
            for pod in pods {
                for owner in pod.metadata.ownerReferences ?? [] where owner.kind == "Job" { podsByJob[owner.uid, default: []].append(pod) }
            }
            for job in jobs {
                let labels = job.metadata.labels ?? [:]
                guard labels[TaskLabels.managedBy] == controllerID, let name = job.metadata.name else { continue }  // exactly ours
                let (state, exitCode, reason) = Self.state(
                    of: job, pods: podsByJob[job.metadata.uid ?? ""] ?? [], now: now, unschedulableTimeout: unschedulableTimeout)
                observed.append(ObservedTask(
                    id: Self.handleID(scope, name), name: job.metadata.annotations?[Self.taskAnnotation] ?? name, plugin: Self.plugin,
                    labels: labels.filter { $0.key.hasPrefix(TaskLabels.prefix) }, state: state, exitCode: exitCode, reason: reason,
                    startedAt: Kubernetes.date(job.metadata.creationTimestamp)))
            }
        }
        return observed
    }

    // MARK: - Steps

    /// Creates the attempt's Secret (the token and the secret environment); one left by an
    /// interrupted start of the same attempt is brought up to date.
    private func putSecret(_ name: String, task: TaskSpec, scope: Scope, client: KubernetesClient) async throws {
        var values = task.secretEnvironment
        if let token = task.environment[TaskEnvironment.token] { values[TaskEnvironment.token] = token }
        var secret = Kubernetes.Secret(
            metadata: .init(name: name, labels: task.labels, annotations: [Self.taskAnnotation: task.name]),
            data: values.mapValues { Data($0.utf8).base64EncodedString() })
        do {
            _ = try await client.send(KubernetesCall(verb: "create", resource: .secrets, namespace: scope.namespace, body: try LauncherJSON.encode(secret)))
        } catch let error as KubernetesAPIError where error.status == 409 {
            let existing = try await LauncherJSON.decode(Kubernetes.Secret.self, plugin: Self.plugin, client.send(KubernetesCall(
                verb: "get", resource: .secrets, namespace: scope.namespace, name: name)))
            guard existing.metadata.labels?[TaskLabels.managedBy] == task.labels[TaskLabels.managedBy] else {
                throw LauncherError(.conflict, plugin: Self.plugin, task: task.name,
                    "a Secret named \(name) exists in namespace \(scope.namespace) and is not Runway's; rename or delete it")
            }
            secret.metadata.resourceVersion = existing.metadata.resourceVersion  // a concurrent change is a 409, not lost
            secret.metadata.ownerReferences = existing.metadata.ownerReferences
            _ = try await client.send(KubernetesCall(
                verb: "update", resource: .secrets, namespace: scope.namespace, name: name, body: try LauncherJSON.encode(secret)))
        }
    }

    /// Every item of a list, page by page (`limit` and `continue`).
    // MARK: - Mapping

    /// The profile's `fromKubernetesSecret` entries: Kubernetes reads those Secrets into the
    /// container itself (`valueFrom.secretKeyRef`); their values never pass through Runway.
    static func secretKeyRefs(_ task: TaskSpec) -> [Kubernetes.EnvVar] {
        task.platformSecrets.sorted { $0.key < $1.key }.compactMap { name, reference in
            guard case .kubernetesSecret(let secret, let key) = reference else { return nil }
            return Kubernetes.EnvVar(name: name, secretKeyRef: .init(name: secret, key: key))
        }
    }

    /// The Job Runway creates for one attempt.
    static func job(name: String, secret: String, image: String, task: TaskSpec, settings: KubernetesSettings) -> Kubernetes.Job {
        let labels = settings.labels.merging(task.labels) { $1 }
        var annotations = settings.annotations
        annotations[taskAnnotation] = task.name
        let environment = task.environment.filter { $0.key != TaskEnvironment.token }.sorted { $0.key < $1.key }
        let resources = settings.resources.isEmpty
            ? nil : Kubernetes.Resources(requests: settings.resources["requests"], limits: settings.resources["limits"])
        let container = Kubernetes.Container(
            name: "runner", image: image, imagePullPolicy: settings.imagePullPolicy, command: task.entrypoint,
            args: task.arguments.isEmpty ? nil : task.arguments,
            env: environment.map { Kubernetes.EnvVar(name: $0.key, value: $0.value) } + secretKeyRefs(task),
            envFrom: [.init(secretRef: .init(name: secret))], resources: resources, securityContext: settings.securityContext)
        var pod = Kubernetes.PodSpec(
            restartPolicy: "Never", serviceAccountName: settings.serviceAccount,
            automountServiceAccountToken: settings.automountServiceAccountToken,
            imagePullSecrets: settings.imagePullSecrets.isEmpty ? nil : settings.imagePullSecrets.map { .init(name: $0) },
            nodeSelector: settings.nodeSelector.isEmpty ? nil : settings.nodeSelector, tolerations: settings.tolerations,
            affinity: settings.affinity, priorityClassName: settings.priorityClassName, securityContext: settings.podSecurityContext,
            terminationGracePeriodSeconds: seconds(settings.grace), containers: [container])
        if let jobImage = task.jobImage { injectRunner(into: &pod, runnerImage: image, jobImage: jobImage) }
        return Kubernetes.Job(
            metadata: .init(name: name, labels: labels, annotations: annotations),
            spec: .init(
                backoffLimit: 0, activeDeadlineSeconds: task.deadline.map(seconds), ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
                template: .init(metadata: .init(labels: labels, annotations: annotations), spec: pod)))
    }

    /// Kubernetes's lifecycle onto Runway's. A finished Job is exited with its pod's exit code; a
    /// pod that cannot start (image pull, config error) or stays unschedulable past the profile's
    /// `unschedulableTimeout` is exited with that reason rather than left pending for ever.
    static func state(of job: Kubernetes.Job, pods: [Kubernetes.Pod], now: Date, unschedulableTimeout: Duration)
        -> (ObservedTask.State, Int32?, String?)
    {
        let pod = pods.max { (Kubernetes.date($0.metadata.creationTimestamp) ?? .distantPast) < (Kubernetes.date($1.metadata.creationTimestamp) ?? .distantPast) }
        let runner = pod?.status?.containerStatuses?.first { $0.name == "runner" } ?? pod?.status?.containerStatuses?.first
        let terminated = runner?.state?.terminated
        let containerReason = terminated?.reason.flatMap { ["Completed", "Error"].contains($0) ? nil : $0 }
        let initFailure = pod.flatMap(initContainerFailure)
        let conditions = job.status?.conditions ?? []
        // A Job ends after its pod does: a pod still shown running is a copy that lags (a watch
        // event on its way), and its exit code is worth the wait.
        let podLags = pod.map { !["Succeeded", "Failed"].contains($0.status?.phase ?? "") && $0.metadata.deletionTimestamp == nil } ?? false
        if let failed = conditions.first(where: { $0.type == "Failed" && $0.status == "True" }) {
            switch failed.reason {
            case "DeadlineExceeded":
                return (.exited, terminated?.exitCode, "deadline exceeded: the Job ran past its activeDeadlineSeconds")
            case _ where podLags:
                return (.running, nil, nil)
            case "BackoffLimitExceeded" where terminated != nil:
                return (.exited, terminated?.exitCode, containerReason)
            case "BackoffLimitExceeded" where initFailure != nil:
                return (.exited, nil, initFailure)
            default:
                return (.exited, terminated?.exitCode, "job failed: \(failed.reason ?? "")\(failed.message.map { ": \($0)" } ?? "")")
            }
        }
        if conditions.contains(where: { $0.type == "Complete" && $0.status == "True" }) {
            if podLags { return (.running, nil, nil) }
            return (.exited, terminated?.exitCode ?? 0, containerReason)
        }
        guard let pod, let status = pod.status else { return (.pending, nil, nil) }
        switch status.phase {
        case "Succeeded", "Failed":
            return (.exited, terminated?.exitCode, containerReason ?? (terminated == nil ? initFailure : nil))
        case "Running":
            return (.running, nil, nil)
        default:
            if let initFailure { return (.exited, nil, initFailure) }
            if let waiting = runner?.state?.waiting, let reason = waiting.reason, startFailures.contains(reason) {
                return (.exited, nil, startFailure(reason, waiting.message))
            }
            if let scheduled = status.conditions?.first(where: { $0.type == "PodScheduled" && $0.status == "False" && $0.reason == "Unschedulable" }),
                let since = Kubernetes.date(scheduled.lastTransitionTime),
                now.timeIntervalSince(since) >= unschedulableTimeout.timeInterval
            {
                return (.exited, nil, "Unschedulable: \(scheduled.message ?? "no node can take the pod")")
            }
            return (.pending, nil, nil)
        }
    }

    /// Why an init container (the runner bundle's) keeps the pod from starting, or nil.
    static func initContainerFailure(_ pod: Kubernetes.Pod) -> String? {
        for status in pod.status?.initContainerStatuses ?? [] {
            if let terminated = status.state?.terminated, terminated.exitCode != 0 {
                let reason = terminated.reason.map { " (\($0))" } ?? ""
                return "init container \(status.name) exited with code \(terminated.exitCode)\(reason): the runner could not be brought into the pod"
            }
            if let waiting = status.state?.waiting, let reason = waiting.reason, startFailures.contains(reason) {
                return startFailure(reason, waiting.message) + " (init container \(status.name))"
            }
        }
        return nil
    }

    /// A container that cannot start, said plainly where the kubelet's words need it: the
    /// `runAsNonRoot` check of an image that runs as root (most stock images) names both ways out.
    static func startFailure(_ reason: String, _ message: String?) -> String {
        let text = "\(reason): \(message ?? "the pod cannot start")"
        guard message?.contains("runAsNonRoot and image") == true else { return text }
        return text + ". The image runs as root (or names no numeric user) and the profile's security context says runAsNonRoot: "
            + "give podSecurityContext a non-root runAsUser (Runway's default is 65532), or set runAsNonRoot: false to let it run as root"
    }

    static func seconds(_ duration: Duration) -> Int {
        max(1, Int(duration.timeInterval.rounded(.up)))
    }

    // MARK: - Helpers

    private func remember(_ scope: Scope, _ settings: KubernetesSettings) {
        scopes.withLock { $0[scope] = settings.unschedulableTimeout }
    }

    private func scope(_ settings: KubernetesSettings, task: String? = nil) throws -> (Scope, KubernetesClient) {
        let client = try client(ClusterKey(kubeconfig: settings.kubeconfig, context: settings.context), task: task)
        return (Scope(kubeconfig: settings.kubeconfig, context: settings.context, namespace: settings.namespace ?? client.access.namespace ?? "default"), client)
    }

    private func client(_ key: ClusterKey, task: String?) throws -> KubernetesClient {
        try clients.client(key) {
            do {
                return KubernetesClient(
                    access: try KubernetesAccess.resolve(kubeconfig: key.kubeconfig, context: key.context, environment: environment, trust: trust),
                    pluginTimeout: pluginTimeout)
            } catch {
                throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task, "\(error)")
            }
        }
    }

    /// A handle names where the Job lives: `<kubeconfig>|<context>|<namespace>|<job>`.
    static func handleID(_ scope: Scope, _ name: String) -> String {
        [scope.kubeconfig ?? "", scope.context ?? "", scope.namespace, name].joined(separator: "|")
    }

    static func parse(_ handle: TaskHandle) throws -> (Scope, String) {
        let parts = handle.id.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4 else { throw LauncherError(.invalidSpec, plugin: plugin, task: handle.name, "not a kubernetes task id: \(handle.id)") }
        return (Scope(kubeconfig: parts[0].isEmpty ? nil : parts[0], context: parts[1].isEmpty ? nil : parts[1], namespace: parts[2]), parts[3])
    }

    /// API failures as launcher errors an operator can act on: 401 names the credential, 403 the
    /// RBAC verb that is missing, 422 the invalid field.
    func calling<T>(task: String?, _ client: KubernetesClient, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as KubernetesAPIError {
            let code: LauncherError.Code
            var message = "\(error)"
            switch error.status {
            case 401:
                code = .unauthorized
                message += " (the API server at \(client.access.server) refused the credentials from \(client.access.source))"
            case 403:
                code = .unauthorized
                message = "RBAC: the controller may not \(error.call) (\(client.access.source)): \(error.message). "
                    + "Grant the verb in its Role (Manifests/kubernetes/role.yaml lists every verb Runway needs)"
            case 404: code = .invalidSpec  // a namespace that does not exist
            case 409: code = .conflict
            case 400, 422: code = .invalidSpec
            default: code = error.isRetryable ? .unavailable : .invalidSpec
            }
            throw LauncherError(code, plugin: Self.plugin, task: task, message)
        } catch let error as HTTPError {
            throw LauncherError(
                error.isCertificateProblem ? .unauthorized : .unavailable, plugin: Self.plugin, task: task,
                "the API server at \(client.access.server) did not answer: \(error) (\(client.access.source))")
        } catch let error as KubernetesAccessError {
            throw LauncherError(.unauthorized, plugin: Self.plugin, task: task, "\(error)")
        }
    }
}
