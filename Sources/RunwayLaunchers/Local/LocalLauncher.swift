import Foundation
import Logging
import RunwayManifests
import RunwayModel

/// `plugin: local` — each task is a child process of the controller (by default `runway runner`,
/// the same binary), in its own process group. Tasks are recorded under the state directory, so
/// `listTasks` sees them across a controller restart, including ones that exited or vanished.
///
/// Config: `grace` (duration, default 10s: SIGTERM, then SIGKILL after this), `command` (list of
/// strings replacing the runner agent; lets tests launch something that never connects back).
public struct LocalLauncher: TaskLauncher {
    public static let plugin = "local"

    public struct Configuration: Sendable {
        /// Where task records and the runners' own output go (`<state-dir>/tasks/local`).
        public var directory: String
        /// The runner agent's executable: this `runway` binary.
        public var runnerExecutable: String

        public init(directory: String, runnerExecutable: String) {
            self.directory = directory
            self.runnerExecutable = runnerExecutable
        }
    }

    /// Default for `grace`.
    public static let defaultGrace: Duration = .seconds(10)

    let configuration: Configuration
    let table: LocalTaskTable
    let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "runway.launcher.local")) {
        self.configuration = configuration
        self.table = LocalTaskTable(directory: configuration.directory)
        self.logger = logger
    }

    public func validate(config: ConfigNode) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        _ = Settings(config, diagnostics: &diagnostics)
        return diagnostics
    }

    public func startTask(_ task: TaskSpec) async throws -> TaskHandle {
        if let existing = try table.record(named: task.name).map(table.settled) {
            logger.info("adopting existing task", metadata: task.logMetadata.merging(["task.id": "\(existing.id)"]) { $1 })
            return handle(existing)
        }
        var diagnostics: [Diagnostic] = []
        let settings = task.config.map { Settings($0, diagnostics: &diagnostics) } ?? Settings()
        guard diagnostics.isEmpty else {
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task.name, diagnostics.map(\.description).joined(separator: "; "))
        }
        let argv = settings.command ?? ([task.entrypoint?.first ?? configuration.runnerExecutable] + task.arguments)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RUNWAY_") }
        environment.merge(task.environment) { $1 }
        environment.merge(task.secretEnvironment) { $1 }
        let record = try table.spawn(
            name: task.name, labels: task.labels, argv: argv, environment: environment, grace: settings.grace)
        logger.info("started task", metadata: task.logMetadata.merging(["task.id": "\(record.id)"]) { $1 })
        return handle(record)
    }

    public func stopTask(_ handle: TaskHandle) async throws {
        guard let record = try table.record(named: handle.name) else { return }  // gone is success
        try await table.stop(record)
        logger.info("stopped task", metadata: ["task": "\(handle.name)", "task.id": "\(record.id)"])
    }

    public func listTasks(managedBy controllerID: String) async throws -> [ObservedTask] {
        try table.all().filter { $0.labels[TaskLabels.managedBy] == controllerID }.map(table.settled)
            .filter { !table.forgetIfAbandoned($0) }.map { record in
            let status = table.status(of: record)
            return ObservedTask(
                id: record.id, name: record.name, plugin: Self.plugin, labels: record.labels, state: status.state,
                exitCode: status.exitCode, reason: status.reason, startedAt: record.startedAt)
        }
    }

    private func handle(_ record: LocalTaskRecord) -> TaskHandle {
        TaskHandle(plugin: Self.plugin, id: record.id, name: record.name)
    }
}

/// The local launcher's config, read and checked.
struct Settings {
    var grace: Duration = LocalLauncher.defaultGrace
    var command: [String]?

    init() {}

    init(_ node: ConfigNode, diagnostics: inout [Diagnostic]) {
        guard var reader = MappingReader(node, context: "spec.config", diagnostics: &diagnostics) else { return }
        if let value = reader.value("grace"), let grace = value.duration("spec.config.grace", atMost: LauncherLimits.grace, diagnostics: &diagnostics) {
            self.grace = grace
        }
        if let value = reader.value("command"), let command = value.stringList("spec.config.command", diagnostics: &diagnostics) {
            if command.isEmpty {
                diagnostics.append(.error("empty-value", "'spec.config.command' is empty", at: value.location))
            } else {
                self.command = command
            }
        }
        reader.reportUnknownKeys(diagnostics: &diagnostics)
    }
}
