import RunwayModel

/// A platform that runs runner tasks. One type per platform, one registry line each.
public protocol TaskLauncher: Sendable {
    /// The name profiles use in `spec.plugin`.
    static var plugin: String { get }

    /// Checks a profile's `config` at `runway validate` time; unknown keys are errors.
    func validate(config: ConfigNode) -> [Diagnostic]

    /// Starts the task described by `task`.
    /// - Important: idempotent. A task with the same name that already exists is adopted and its
    ///   handle returned; a second task is never created.
    /// - Throws: ``LauncherError``.
    func startTask(_ task: TaskSpec) async throws -> TaskHandle

    /// Stops and removes the task (gracefully, then by force).
    /// - Important: a task that is already gone is a success.
    /// - Throws: ``LauncherError``.
    func stopTask(_ handle: TaskHandle) async throws

    /// Every task carrying `runway.io/managed-by=<controllerID>`, in every state, with exit codes.
    /// - Throws: ``LauncherError``.
    func listTasks(managedBy controllerID: String) async throws -> [ObservedTask]

    /// The platform's own word on how a finished task's job ended (`OOMKilled`), asked just
    /// before the task is stopped; nil when it has none or cannot tell.
    func platformReason(_ handle: TaskHandle) async -> String?

    /// Asks the launcher to watch its platform and call `changed` whenever it sees a task change
    /// (a Kubernetes watch); ``listTasks(managedBy:)`` may then answer from what it watched.
    /// Launchers that only list ignore it. Default: nothing.
    func notifyChanges(_ changed: @escaping @Sendable () -> Void)
}

extension TaskLauncher {
    public func platformReason(_ handle: TaskHandle) async -> String? { nil }
    public func notifyChanges(_ changed: @escaping @Sendable () -> Void) {}
}

/// A launcher failure: what kind, which plugin and task, and the cause. Whether to retry is a
/// property of the code, not a guess at the call site.
public struct LauncherError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notFound, conflict, invalidSpec, unauthorized, unavailable, timeout
    }

    public var code: Code
    public var plugin: String
    public var task: String?
    public var message: String

    public init(_ code: Code, plugin: String, task: String? = nil, _ message: String) {
        self.code = code
        self.plugin = plugin
        self.task = task
        self.message = message
    }

    /// Worth trying again later: the platform was unreachable or slow.
    public var isRetryable: Bool { code == .unavailable || code == .timeout || code == .conflict }

    public var description: String {
        "\(plugin) launcher: \(code.rawValue)\(task.map { " (task \($0))" } ?? ""): \(message)"
    }
}
