import Foundation
import Logging
import RunwayManifests
import RunwayHTTP
import RunwayModel
import Synchronization

/// `plugin: docker` — each task is a container on a Docker engine, over the Engine API (v1.41+).
/// Containers carry the deterministic task name and Runway's labels; a name conflict on create
/// means the container exists already and is adopted, never duplicated.
///
/// Which engines are listed: every endpoint named by a docker profile this process has loaded
/// (each profile config passes through ``validate(config:)``) or started a task on. An
/// installation with no docker profile never contacts an engine.
public final class DockerLauncher: TaskLauncher {
    public static let plugin = "docker"

    let environment: [String: String]
    let logger: Logger
    /// Where manifests may draw secrets from, and which engines they name may get the
    /// controller's own TLS client certificate.
    let trust: TrustPolicy
    /// One engine per endpoint, made on first use; the mutex guards the table.
    private let engines = Mutex<[DockerEndpoint: DockerEngine]>([:])
    /// Runner bundle volumes being filled, by name: concurrent starts of job images wait for the
    /// one fill instead of mounting a volume still empty.
    let bundleFills = Mutex<[String: Task<Void, any Error>]>([:])

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, trust: TrustPolicy = TrustPolicy(),
        logger: Logger = Logger(label: "runway.launcher.docker")
    ) {
        self.environment = environment
        self.trust = trust
        self.logger = logger
    }

    public func validate(config: ConfigNode) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let settings = DockerSettings(config, diagnostics: &diagnostics)
        if let reference = settings.registryAuth, let reason = trust.refusal(reference), let node = config["registryAuth"] {
            diagnostics.append(.error("secret-not-allowed", "secret 'registryAuth': \(reason)", at: node.location))
        }
        if let host = settings.host, let node = config["host"], host.hasPrefix("tcp://"), environment["DOCKER_CERT_PATH"] != nil,
            !sendsOwnCertificate(to: host)
        {
            diagnostics.append(.error(
                "untrusted-endpoint",
                "'spec.config.host' \(host) is an engine this manifest chose: the controller's TLS client certificate (DOCKER_CERT_PATH) is never sent there",
                at: node.location, hint: "set DOCKER_HOST on the controller, or list the engine in --trusted-endpoints"))
        }
        if diagnostics.isEmpty, let endpoint = DockerEndpoint.resolve(host: settings.host, environment: environment) {
            _ = engine(endpoint)
        }
        return diagnostics
    }

    public func startTask(_ task: TaskSpec) async throws -> TaskHandle {
        let settings = try DockerSettings.read(task.config, plugin: Self.plugin, task: task.name)
        guard let image = task.image else {
            throw LauncherError(
                .invalidSpec, plugin: Self.plugin, task: task.name,
                "no image: set the profile's spec.image, or RUNWAY_IMAGE on the controller")
        }
        let engine = try engine(for: settings, task: task.name)
        return try await call(engine, task: task.name) {
            try await ensureImage(image, settings: settings, engine: engine, task: task.name)
            var task = task
            var settings = settings
            if let jobImage = task.jobImage {
                // The job's own image, the runner brought in: its bundle, from the runner image,
                // mounted read-only, and started as the entrypoint.
                try await ensureImage(jobImage, settings: settings, engine: engine, task: task.name)
                let volume = try await runnerVolume(runnerImage: image, engine: engine, task: task.name, controllerID: task.labels[TaskLabels.managedBy] ?? "")
                settings.binds.append("\(volume):\(RunnerBundle.path):ro")
                task.entrypoint = RunnerBundle.entrypoint
            }
            let id = try await create(task, image: task.jobImage ?? image, settings: settings, engine: engine)
            try await start(id: id, engine: engine, task: task.name)
            logger.info("started task", metadata: task.logMetadata.merging(["container": "\(id.prefix(12))"]) { $1 })
            return TaskHandle(plugin: Self.plugin, id: handleID(engine: engine, container: id), name: task.name)
        }
    }

    public func stopTask(_ handle: TaskHandle) async throws {
        let (endpoint, container) = try parse(handle)
        let engine = engine(endpoint)
        var diagnostics: [Diagnostic] = []
        let settings = handle.config.map { DockerSettings($0, diagnostics: &diagnostics) } ?? DockerSettings()
        let grace = max(1, Int(settings.grace.timeInterval.rounded(.up)))
        try await call(engine, task: handle.name) {
            let stopped = try await engine.send("POST", "/containers/\(container)/stop", query: [("t", "\(grace)")])
            guard [204, 304, 404].contains(stopped.status) else {
                throw DockerError.unexpected("POST /containers/\(container)/stop", status: stopped.status, message: stopped.text)
            }
            let removed = try await engine.send("DELETE", "/containers/\(container)", query: [("force", "true"), ("v", "true")])
            // 409: a removal is already in progress — it will be gone.
            guard [204, 404, 409].contains(removed.status) else {
                throw DockerError.unexpected("DELETE /containers/\(container)", status: removed.status, message: removed.text)
            }
        }
        logger.info("stopped task", metadata: ["task": "\(handle.name)", "container": "\(container.prefix(12))"])
    }

    /// `OOMKilled` when the engine saw the container run out of memory (any process in it).
    /// The engine records that when the container exits, so this waits (up to 5 seconds) for the
    /// runner, which has reported already, to exit.
    public func platformReason(_ handle: TaskHandle) async -> String? {
        guard let (endpoint, container) = try? parse(handle) else { return nil }
        let engine = engine(endpoint)
        _ = try? await engine.send("POST", "/containers/\(container)/wait", query: [("condition", "not-running")], timeout: .seconds(5))
        guard let detail = try? await inspect(container, engine: engine) else { return nil }
        return detail.State.OOMKilled == true ? "OOMKilled" : nil
    }

    public func listTasks(managedBy controllerID: String) async throws -> [ObservedTask] {
        var tasks: [ObservedTask] = []
        for engine in engines.withLock({ Array($0.values) }).sorted(by: { $0.endpoint.text < $1.endpoint.text }) {
            tasks += try await call(engine, task: nil) { try await list(engine, managedBy: controllerID) }
        }
        return tasks
    }

    // MARK: - Steps

    private func ensureImage(_ image: String, settings: DockerSettings, engine: DockerEngine, task: String) async throws {
        if settings.pull != .always {
            let found = try await engine.send("GET", "/images/\(Self.pathEscaped(image))/json")
            if found.status == 200 { return }
            guard found.status == 404 else {
                throw DockerError.unexpected("GET /images/\(image)/json", status: found.status, message: found.text)
            }
            if settings.pull == .never {
                throw LauncherError(
                    .invalidSpec, plugin: Self.plugin, task: task,
                    "image \(image) is not on the Docker engine at \(engine.endpoint) and the profile says pull: never")
            }
        }
        try await pull(image, settings: settings, engine: engine, task: task)
    }

    private func pull(_ image: String, settings: DockerSettings, engine: DockerEngine, task: String) async throws {
        let (name, tag) = Self.splitTag(image)
        var headers: [(String, String)] = []
        if let reference = settings.registryAuth {
            let value = try SecretResolver.resolve(reference, name: "registryAuth", trust: trust)
            headers.append(("X-Registry-Auth", value))
        }
        let stalled = { (cause: String) in
            LauncherError(
                .timeout, plugin: Self.plugin, task: task,
                "cannot pull \(image): \(cause) (the profile allows \(settings.pullTimeout.manifestDescription) in all and \(settings.pullStallTimeout.manifestDescription) without progress)")
        }
        let response: HTTPStreamingResponse
        let body: [UInt8]
        do {
            response = try await engine.stream(
                "POST", "/images/create", query: [("fromImage", name), ("tag", tag)], headers: headers, timeout: settings.pullTimeout,
                stallTimeout: settings.pullStallTimeout)
            body = try await response.collect(limit: 16 << 20)
        } catch let error as HTTPError where error.isTimeout {
            throw stalled(error.cause)
        } catch DockerError.unreachable(_, let cause) where cause.isTimeout {
            throw stalled(cause.cause)
        }
        guard response.status == 200 else {
            throw LauncherError(
                .notFound, plugin: Self.plugin, task: task,
                "cannot pull \(image): HTTP \(response.status): \(DockerAPIMessage.text(String(decoding: body, as: UTF8.self)))")
        }
        // Errors after the 200 arrive as a progress line.
        for line in body.split(separator: UInt8(ascii: "\n")) {
            if let progress = try? JSONDecoder().decode(PullProgress.self, from: Data(line)), let error = progress.error {
                throw LauncherError(.notFound, plugin: Self.plugin, task: task, "cannot pull \(image): \(error)")
            }
        }
    }

    /// Creates the container, or finds the one a previous start made (409: the name is taken).
    private func create(_ task: TaskSpec, image: String, settings: DockerSettings, engine: DockerEngine) async throws -> String {
        var environment = task.environment
        environment.merge(task.secretEnvironment) { $1 }
        let body = ContainerCreate(
            Image: image, Entrypoint: task.entrypoint, Cmd: task.arguments,
            Env: environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            Labels: settings.labels.merging(task.labels) { $1 }, User: settings.user,
            HostConfig: .init(
                NetworkMode: settings.network, Binds: settings.binds.isEmpty ? nil : settings.binds, Memory: settings.memoryBytes,
                NanoCpus: settings.nanoCPUs, ExtraHosts: settings.extraHosts.isEmpty ? nil : settings.extraHosts,
                Init: settings.useInit ? true : nil))
        let response = try await engine.send("POST", "/containers/create", query: [("name", task.name)], json: body)
        switch response.status {
        case 201:
            return try JSONDecoder().decode(ContainerCreated.self, from: Data(response.body)).Id
        case 409:
            let existing = try await inspect(task.name, engine: engine)
            guard let existing, existing.Config?.Labels?[TaskLabels.managedBy] == task.labels[TaskLabels.managedBy] else {
                throw LauncherError(
                    .conflict, plugin: Self.plugin, task: task.name,
                    "a container named \(task.name) exists and is not this controller's")
            }
            logger.info("adopting existing task", metadata: task.logMetadata.merging(["container": "\(existing.Id.prefix(12))"]) { $1 })
            return existing.Id
        case 404:
            throw LauncherError(
                .notFound, plugin: Self.plugin, task: task.name,
                "image \(image) is not on the Docker engine at \(engine.endpoint): \(DockerAPIMessage.text(response.text))")
        default:
            throw LauncherError(
                .invalidSpec, plugin: Self.plugin, task: task.name,
                "create refused: HTTP \(response.status): \(DockerAPIMessage.text(response.text))")
        }
    }

    private func start(id: String, engine: DockerEngine, task: String) async throws {
        let response = try await engine.send("POST", "/containers/\(id)/start")
        // 304: started already (an adopted container).
        guard [204, 304].contains(response.status) else {
            throw LauncherError(
                .invalidSpec, plugin: Self.plugin, task: task,
                "start refused: HTTP \(response.status): \(DockerAPIMessage.text(response.text))")
        }
    }

    private func list(_ engine: DockerEngine, managedBy controllerID: String) async throws -> [ObservedTask] {
        let filters = try JSONEncoder().encode(["label": ["\(TaskLabels.managedBy)=\(controllerID)"]])
        let response = try await engine.send(
            "GET", "/containers/json", query: [("all", "true"), ("filters", String(decoding: filters, as: UTF8.self))])
        guard response.status == 200 else {
            throw DockerError.unexpected("GET /containers/json", status: response.status, message: response.text)
        }
        var tasks: [ObservedTask] = []
        for summary in try JSONDecoder().decode([ContainerSummary].self, from: Data(response.body)) {
            // The filter asked the engine; the label is checked again here, exactly.
            let labels = summary.Labels ?? [:]
            guard labels[TaskLabels.managedBy] == controllerID else { continue }
            let name = summary.Names.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? summary.Id
            // A runner bundle's filler while this launcher fills it is no task: a pass would stop
            // it as an orphan between its create and its start. One left by a controller that
            // stopped mid-fill is listed, and removed as the orphan it is.
            guard !isFillingBundle(container: name) else { continue }
            var task = ObservedTask(
                id: handleID(engine: engine, container: summary.Id), name: name, plugin: Self.plugin, labels: labels,
                state: Self.state(summary.State),
                startedAt: summary.Created.map { Date(timeIntervalSince1970: TimeInterval($0)) })
            if task.state == .exited {
                // Exit code and OOM come from inspect; a container removed meanwhile is simply gone.
                guard let detail = try await inspect(summary.Id, engine: engine) else { continue }
                task.exitCode = detail.State.ExitCode
                if detail.State.OOMKilled == true {
                    task.reason = "OOMKilled"
                } else if let error = detail.State.Error, !error.isEmpty {
                    task.reason = error
                }
            }
            tasks.append(task)
        }
        return tasks
    }

    private func inspect(_ nameOrID: String, engine: DockerEngine) async throws -> ContainerInspect? {
        let response = try await engine.send("GET", "/containers/\(nameOrID)/json")
        switch response.status {
        case 200: return try JSONDecoder().decode(ContainerInspect.self, from: Data(response.body))
        case 404: return nil
        default: throw DockerError.unexpected("GET /containers/\(nameOrID)/json", status: response.status, message: response.text)
        }
    }

    // MARK: - Helpers

    static func state(_ dockerState: String) -> ObservedTask.State {
        switch dockerState {
        case "created": .pending
        case "running", "restarting", "paused": .running
        default: .exited  // exited, dead, removing
        }
    }

    /// Runs engine calls, turning transport and protocol failures into launcher errors.
    private func call<T>(_ engine: DockerEngine, task: String?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as LauncherError {
            throw error
        } catch let error as DockerError {
            switch error {
            case .unreachable: throw LauncherError(.unavailable, plugin: Self.plugin, task: task, "\(error)")
            case .tooOld: throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task, "\(error)")
            case .unexpected(_, let status, _):
                throw LauncherError(status >= 500 ? .unavailable : .invalidSpec, plugin: Self.plugin, task: task, "\(error)")
            }
        } catch let error as SecretResolver.Failure {
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task, "\(error)")
        } catch {
            throw LauncherError(.unavailable, plugin: Self.plugin, task: task, "Docker engine at \(engine.endpoint): \(error)")
        }
    }

    private func engine(for settings: DockerSettings, task: String) throws -> DockerEngine {
        guard let endpoint = DockerEndpoint.resolve(host: settings.host, environment: environment) else {
            throw LauncherError(
                .invalidSpec, plugin: Self.plugin, task: task,
                "DOCKER_HOST '\(environment["DOCKER_HOST"] ?? "")' is not unix:///path, tcp://host:port or http(s)://host:port")
        }
        return engine(endpoint)
    }

    private func engine(_ endpoint: DockerEndpoint) -> DockerEngine {
        engines.withLock { engines in
            if let engine = engines[endpoint] { return engine }
            // The controller's client certificate goes only to its own engine or a trusted one.
            var environment = self.environment
            if !sendsOwnCertificate(to: endpoint.text) { environment["DOCKER_CERT_PATH"] = nil }
            let engine = DockerEngine(endpoint: endpoint, environment: environment)
            engines[endpoint] = engine
            return engine
        }
    }

    /// Whether the controller's own TLS client certificate may go to the engine at `host`.
    private func sendsOwnCertificate(to host: String) -> Bool {
        trust.trusts(endpoint: host, configured: [environment["DOCKER_HOST"], DockerEndpoint.defaultSocket])
    }

    /// A handle names the engine and the container: `<endpoint>#<container id>`.
    private func handleID(engine: DockerEngine, container: String) -> String { "\(engine.endpoint.text)#\(container)" }

    private func parse(_ handle: TaskHandle) throws -> (DockerEndpoint, String) {
        guard let mark = handle.id.lastIndex(of: "#"), let endpoint = DockerEndpoint(String(handle.id[..<mark])) else {
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: handle.name, "not a docker task id: \(handle.id)")
        }
        return (endpoint, String(handle.id[handle.id.index(after: mark)...]))
    }

    /// `repo/name:tag` → (`repo/name`, `tag`); `latest` when none is given. A digest stays whole.
    static func splitTag(_ image: String) -> (String, String) {
        if image.contains("@") { return (image, "") }
        if let colon = image.lastIndex(of: ":"), !image[colon...].contains("/") {
            return (String(image[..<colon]), String(image[image.index(after: colon)...]))
        }
        return (image, "latest")
    }

    static func pathEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? text
    }
}
