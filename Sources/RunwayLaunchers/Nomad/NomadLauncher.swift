import Foundation
import Logging
import RunwayHTTP
import RunwayManifests
import RunwayModel
import Synchronization

/// `plugin: nomad` — each attempt is a Nomad `batch` job (one group, count 1, no restarts, no
/// rescheduling: Runway owns retries) with Runway's labels as job `Meta`. Every request names
/// the profile's region and namespace, stops included.
///
/// Where jobs are listed: the address, region and namespace of every nomad profile this
/// process has loaded or started on.
public final class NomadLauncher: TaskLauncher {
    public static let plugin = "nomad"
    static let group = "runner"
    static let taskMeta = "runway.io/task"

    /// Where a profile's jobs live.
    struct Scope: Hashable, Sendable {
        var access: NomadAccess
        var region: String?
        var namespace: String
    }

    let environment: [String: String]
    let logger: Logger
    /// Jobs per list page (`per_page`); the rest come with `next_token`.
    let pageSize: Int
    private let clients = ClientTable<NomadAccess, NomadClient>()
    private let scopes = Mutex<[Scope: Duration]>([:])  // → the profile's placement timeout

    /// Where manifests may draw secrets from, and which addresses they name may get the
    /// controller's own token and client certificate.
    let trust: TrustPolicy

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, pageSize: Int = 500, trust: TrustPolicy = TrustPolicy(),
        logger: Logger = Logger(label: "runway.launcher.nomad")
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
        let settings = NomadSettings(config, diagnostics: &diagnostics)
        if let reference = settings.token, let reason = trust.refusal(reference), let node = config["token"] {
            diagnostics.append(.error("secret-not-allowed", "secret 'token': \(reason)", at: node.location))
        }
        if let reason = NomadAccess.clientKeyRefusal(settings, environment: environment, trust: trust), let node = config["clientKey"] {
            diagnostics.append(.error("secret-not-allowed", "'spec.config.clientKey': \(reason)", at: node.location))
        }
        if let address = settings.address, let node = config["address"], settings.token == nil, environment["NOMAD_TOKEN"] != nil,
            !NomadAccess.sendsOwnCredentials(to: address, environment: environment, trust: trust)
        {
            diagnostics.append(.error(
                "untrusted-endpoint",
                "'spec.config.address' \(address) is a Nomad this manifest chose: the controller's own NOMAD_TOKEN is never sent there, and the manifest names no token of its own",
                at: node.location, hint: "set spec.config.token, set NOMAD_ADDR on the controller, or list the address in --trusted-endpoints"))
        }
        if diagnostics.isEmpty, let scope = try? scope(settings) { remember(scope, settings) }
        return diagnostics
    }

    public func startTask(_ task: TaskSpec) async throws -> TaskHandle {
        let settings = try NomadSettings.read(task.config, plugin: Self.plugin, task: task.name)
        let scope = try scope(settings, task: task.name)
        remember(scope, settings)
        let client = client(scope.access)
        let job = try Self.job(task, settings: settings, region: scope.region, namespace: scope.namespace)
        let handle = TaskHandle(plugin: Self.plugin, id: Self.handleID(scope, job.ID), name: task.name, config: task.config)
        return try await calling(task: task.name, client) {
            do {
                _ = try await client.send(
                    "PUT", "/v1/jobs", region: scope.region, namespace: scope.namespace, body: try LauncherJSON.encode(Nomad.RegisterRequest(Job: job)))
                logger.info("started task", metadata: task.logMetadata.merging(["nomad.job": "\(job.ID)", "namespace": "\(scope.namespace)"]) { $1 })
            } catch let error as NomadAPIError where error.message.contains("job already exists") {
                // Registered already: ours (a start that already happened) is adopted, never run twice.
                let existing = try LauncherJSON.decode(Nomad.JobRead.self, plugin: Self.plugin, try await client.send(
                    "GET", "/v1/job/\(Self.escaped(job.ID))", region: scope.region, namespace: scope.namespace).body)
                guard existing.Meta?[TaskLabels.managedBy] == task.labels[TaskLabels.managedBy] else {
                    throw LauncherError(.conflict, plugin: Self.plugin, task: task.name,
                        "a Nomad job \(job.ID) exists in namespace \(scope.namespace) and is not this controller's; rename or stop it")
                }
                logger.info("adopting existing task", metadata: task.logMetadata.merging(["nomad.job": "\(job.ID)"]) { $1 })
            }
            return handle
        }
    }

    public func stopTask(_ handle: TaskHandle) async throws {
        let (scope, id) = try parse(handle)
        let client = client(scope.access)
        try await calling(task: handle.name, client) {
            do {
                _ = try await client.send("DELETE", "/v1/job/\(Self.escaped(id))", region: scope.region, namespace: scope.namespace, query: [("purge", "true")])
            } catch let error as NomadAPIError where error.status == 404 {
                return  // gone already
            }
        }
        logger.info("stopped task", metadata: ["task": "\(handle.name)", "nomad.job": "\(id)", "namespace": "\(scope.namespace)"])
    }

    public func listTasks(managedBy controllerID: String) async throws -> [ObservedTask] {
        var observed: [ObservedTask] = []
        let now = Date()
        for (scope, placementTimeout) in scopes.withLock({ $0 }).sorted(by: { Self.handleID($0.key, "") < Self.handleID($1.key, "") }) {
            let client = client(scope.access)
            try await calling(task: nil, client) {
                for stub in try await jobs(scope, client: client) {
                    let meta = stub.Meta ?? [:]
                    guard meta[TaskLabels.managedBy] == controllerID else { continue }  // exactly ours
                    let (state, exitCode, reason): (ObservedTask.State, Int32?, String?)
                    do {
                        (state, exitCode, reason) = try await self.state(
                            of: stub, scope: scope, client: client, now: now, placementTimeout: placementTimeout)
                    } catch let error as NomadAPIError where error.status == 404 {
                        continue  // deleted since the listing (a stop going on beside it): gone
                    }
                    observed.append(ObservedTask(
                        id: Self.handleID(scope, stub.ID), name: meta[Self.taskMeta] ?? stub.ID, plugin: Self.plugin,
                        labels: meta.filter { $0.key.hasPrefix(TaskLabels.prefix) && $0.key != Self.taskMeta }, state: state,
                        exitCode: exitCode, reason: reason, startedAt: stub.SubmitTime.map { Date(timeIntervalSince1970: Double($0) / 1e9) }))
                }
            }
        }
        return observed
    }

    // MARK: - Steps

    /// Every job whose ID starts with `runway-`, with its Meta, page by page.
    private func jobs(_ scope: Scope, client: NomadClient) async throws -> [Nomad.JobStub] {
        try await LauncherPaging.all(plugin: Self.plugin, listing: "listing jobs in namespace \(scope.namespace)" + (scope.region.map { " of region \($0)" } ?? "")) { token in
            var query = [("prefix", "runway-"), ("meta", "true"), ("per_page", String(pageSize))]
            if let token { query.append(("next_token", token)) }
            let response = try await client.send("GET", "/v1/jobs", region: scope.region, namespace: scope.namespace, query: query)
            return (try LauncherJSON.decode([Nomad.JobStub].self, plugin: Self.plugin, response.body), response.headers["x-nomad-nexttoken"])
        }
    }

    /// The job's state from its summary; only a job that ended (for its exit code and reason)
    /// or waits unplaced past `placementTimeout` (for the scheduler's reason) costs a further
    /// request.
    private func state(of stub: Nomad.JobStub, scope: Scope, client: NomadClient, now: Date, placementTimeout: Duration) async throws
        -> (ObservedTask.State, Int32?, String?)
    {
        let counts = stub.JobSummary?.Summary?[Self.group]
        let path = "/v1/job/\(Self.escaped(stub.ID))"
        if (counts?.Running ?? 0) > 0 { return (.running, nil, nil) }
        if (counts?.Complete ?? 0) + (counts?.Failed ?? 0) + (counts?.Lost ?? 0) > 0 || stub.Status == "dead" {
            let allocations = try LauncherJSON.decode([Nomad.Allocation].self, plugin: Self.plugin, try await client.send(
                "GET", path + "/allocations", region: scope.region, namespace: scope.namespace).body)
            return Self.state(of: allocations)
        }
        let submitted = stub.SubmitTime.map { Date(timeIntervalSince1970: Double($0) / 1e9) } ?? now
        if (counts?.Queued ?? 0) > 0, now.timeIntervalSince(submitted) >= placementTimeout.timeInterval {
            // Waiting for a node past the profile's patience: ask the scheduler why.
            let evaluations = try LauncherJSON.decode([Nomad.Evaluation].self, plugin: Self.plugin, try await client.send(
                "GET", path + "/evaluations", region: scope.region, namespace: scope.namespace).body)
            if let reason = Self.placementFailure(evaluations, now: now, timeout: placementTimeout) { return (.exited, nil, reason) }
        }
        return (.pending, nil, nil)
    }

    // MARK: - Mapping

    /// Where the template of the profile's Nomad Variables is rendered, in the task's secrets
    /// directory (which Nomad keeps from other tasks).
    static let variablesPath = "secrets/runway-variables.env"

    /// The profile's `fromNomadVariable` entries as one template Nomad renders into the task's
    /// environment (`NAME={{ with nomadVar "PATH" }}{{ .KEY }}{{ end }}` lines); their values never
    /// pass through Runway. A variable that changes later leaves the running task alone.
    static func variableTemplate(_ task: TaskSpec) -> Nomad.Template? {
        let lines = task.platformSecrets.sorted { $0.key < $1.key }.compactMap { name, reference -> String? in
            guard case .nomadVariable(let path, let key) = reference else { return nil }
            return "\(name)={{ with nomadVar \(Self.quoted(path)) }}{{ .\(key) }}{{ end }}"
        }
        guard !lines.isEmpty else { return nil }
        return Nomad.Template(EmbeddedTmpl: lines.joined(separator: "\n") + "\n", DestPath: variablesPath, Envvars: true, ChangeMode: "noop")
    }

    /// A Go template string literal.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The batch job Runway registers for one attempt.
    static func job(_ task: TaskSpec, settings: NomadSettings, region: String?, namespace: String) throws -> Nomad.Job {
        var config: [String: JSONValue] = [:]
        switch settings.driver {
        case .docker:
            guard let image = task.image else {
                throw LauncherError(.invalidSpec, plugin: plugin, task: task.name, "no image: set the profile's spec.image, or RUNWAY_IMAGE on the controller")
            }
            config["image"] = .string(image)
            if let entrypoint = task.entrypoint { config["entrypoint"] = .array(entrypoint.map(JSONValue.string)) }
            config["args"] = .array(task.arguments.map(JSONValue.string))
        case .exec, .rawExec:
            let command = task.entrypoint ?? [settings.command]
            config["command"] = .string(command[0])
            config["args"] = .array((command.dropFirst() + task.arguments).map(JSONValue.string))
        }
        var meta = settings.meta.merging(task.labels) { $1 }
        meta[taskMeta] = task.name
        let nanoseconds = { (duration: Duration) in Int64((duration.timeInterval * 1e9).rounded()) }
        var runner = Nomad.Task(
            Name: group, Driver: settings.driver.rawValue, Config: config,
            Env: task.environment.merging(task.secretEnvironment) { $1 },
            Resources: settings.cpu == nil && settings.memory == nil ? nil : .init(CPU: settings.cpu, MemoryMB: settings.memory),
            KillTimeout: nanoseconds(settings.grace), Templates: variableTemplate(task).map { [$0] })
        var tasks = [runner]
        if let jobImage = task.jobImage, settings.driver == .docker {
            tasks = injected(runner: &runner, jobImage: jobImage, grace: nanoseconds(settings.grace))
        }
        return Nomad.Job(
            ID: task.name, Name: task.name, Region: region, Namespace: namespace,
            Datacenters: settings.datacenters.isEmpty ? ["*"] : settings.datacenters, Priority: settings.priority, Meta: meta,
            Constraints: settings.constraints.isEmpty ? nil : settings.constraints.map { .init(LTarget: $0.attribute, RTarget: $0.value, Operand: $0.operator) },
            TaskGroups: [.init(
                Name: group, RestartPolicy: .init(Interval: nanoseconds(.seconds(86_400)), Delay: nanoseconds(.seconds(15))),
                ReschedulePolicy: .init(), Tasks: tasks)])
    }

    /// An ended job's allocation onto Runway's terms: the runner's exit code from its
    /// `Terminated` event, a driver failure (image pull) or a lost node as the reason.
    static func state(of allocations: [Nomad.Allocation]) -> (ObservedTask.State, Int32?, String?) {
        guard let allocation = allocations.max(by: { ($0.CreateTime ?? 0) < ($1.CreateTime ?? 0) }) else {
            return (.exited, nil, "stopped: the job has no allocation")
        }
        let events = allocation.TaskStates?[group]?.Events ?? []
        if let failure = bundleFailure(allocation) { return (.exited, nil, failure) }
        switch allocation.ClientStatus {
        case "pending": return (.pending, nil, nil)
        case "running": return (.running, nil, nil)
        case "lost": return (.exited, nil, "allocation lost (its node went down)")
        default:
            if let failure = events.last(where: { $0.Type == "Driver Failure" }) {
                return (.exited, nil, "driver failure: \(failure.DriverError ?? failure.DisplayMessage ?? "")")
            }
            if let terminated = events.last(where: { $0.Type == "Terminated" }) {
                let signal = terminated.Signal ?? 0
                return (.exited, signal > 0 ? 128 + signal : terminated.ExitCode, nil)
            }
            return (.exited, nil, allocation.ClientDescription.map { "stopped: \($0)" })
        }
    }

    /// The scheduler's reason for a job left unplaced longer than `timeout`: a blocked
    /// evaluation's filtered constraints or exhausted dimensions.
    static func placementFailure(_ evaluations: [Nomad.Evaluation], now: Date, timeout: Duration) -> String? {
        guard let blocked = evaluations.first(where: { $0.Status == "blocked" }),
            let metric = blocked.FailedTGAllocs?[group] ?? evaluations.compactMap({ $0.FailedTGAllocs?[group] }).first
        else { return nil }
        if let created = blocked.CreateTime, now.timeIntervalSince1970 - Double(created) / 1e9 < timeout.timeInterval { return nil }
        var causes = (metric.ConstraintFiltered ?? [:]).sorted { $0.key < $1.key }.map { "constraint \($0.key) filtered \($0.value) node(s)" }
        causes += (metric.DimensionExhausted ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) exhausted on \($0.value) node(s)" }
        if causes.isEmpty { causes = ["no node in the job's datacenters (\(metric.NodesEvaluated ?? 0) evaluated)"] }
        return "placement failed: " + causes.joined(separator: "; ")
    }

    // MARK: - Helpers

    private func scope(_ settings: NomadSettings, task: String? = nil) throws -> Scope {
        let access: NomadAccess
        do {
            access = try NomadAccess(settings, environment: environment, trust: trust)
        } catch {
            throw LauncherError(.unauthorized, plugin: Self.plugin, task: task, "\(error)")
        }
        let region = settings.region ?? environment["NOMAD_REGION"].flatMap { $0.isEmpty ? nil : $0 }
        let namespace = settings.namespace ?? environment["NOMAD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        return Scope(access: access, region: region, namespace: namespace)
    }

    private func remember(_ scope: Scope, _ settings: NomadSettings) {
        scopes.withLock { $0[scope] = settings.placementTimeout }
    }

    private func client(_ access: NomadAccess) -> NomadClient {
        clients.client(access) { NomadClient(access: access) }
    }

    /// A handle names where the job lives: `<address>|<region>|<namespace>|<job ID>`; the token
    /// and TLS files come from the profile config the stop is given.
    static func handleID(_ scope: Scope, _ id: String) -> String {
        [scope.access.address, scope.region ?? "", scope.namespace, id].joined(separator: "|")
    }

    private func parse(_ handle: TaskHandle) throws -> (Scope, String) {
        let parts = handle.id.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4 else { throw LauncherError(.invalidSpec, plugin: Self.plugin, task: handle.name, "not a nomad task id: \(handle.id)") }
        let region = parts[1].isEmpty ? nil : parts[1]
        if handle.config == nil,
            let known = scopes.withLock({ $0.keys.first { $0.access.address == parts[0] && $0.region == region && $0.namespace == parts[2] } })
        {
            return (known, parts[3])  // a task whose profile is gone: reached as it was last listed
        }
        var settings = try NomadSettings.read(handle.config, plugin: Self.plugin, task: handle.name)
        settings.address = parts[0]
        var scope = try scope(settings, task: handle.name)
        scope.region = region
        scope.namespace = parts[2]
        return (scope, parts[3])
    }

    static func escaped(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id
    }

    /// Nomad failures as launcher errors an operator can act on: 403 names the token and the
    /// capabilities the controller needs, a validation error the job field.
    private func calling<T>(task: String?, _ client: NomadClient, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as NomadAPIError {
            let code: LauncherError.Code
            var message = "\(error)"
            switch error.status {
            case 401, 403:
                code = .unauthorized
                message += " (Nomad at \(client.access.address) refused the controller's ACL token"
                    + "\(client.access.token == nil ? ": none was given (set spec.config.token or NOMAD_TOKEN)" : ""); it needs the namespace"
                    + " capabilities list-jobs, read-job and submit-job: see the README's ACL policy)"
            case 404: code = .invalidSpec
            default: code = error.isRetryable ? .unavailable : .invalidSpec
            }
            throw LauncherError(code, plugin: Self.plugin, task: task, message)
        } catch let error as HTTPError {
            throw LauncherError(
                error.isCertificateProblem ? .unauthorized : .unavailable, plugin: Self.plugin, task: task,
                "Nomad at \(client.access.address) did not answer: \(error)"
                    + (error.isCertificateProblem ? " (check spec.config.caCert / NOMAD_CACERT and tlsServerName / NOMAD_TLS_SERVER_NAME)" : ""))
        }
    }
}
