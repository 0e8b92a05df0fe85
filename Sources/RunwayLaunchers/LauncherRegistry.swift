import RunwayManifests
import RunwayModel

/// The plugin name → launcher table, built once by the executable.
public struct LauncherRegistry: Sendable {
    /// Platforms the design names whose launchers this build does not have yet.
    public static let plannedPlugins: [String] = []

    public let launchers: [String: any TaskLauncher]
    /// Launchers this build has that are switched off: never called, and naming one in a
    /// profile is an error at validate time.
    public let disabled: Set<String>
    /// Where manifests may draw secrets from (the launchers were made with the same).
    public let trust: TrustPolicy

    /// `launchers`, of which only those `enabled` names (nil: all) are used.
    public init(_ launchers: [any TaskLauncher], enabled: Set<String>? = nil, trust: TrustPolicy = TrustPolicy()) {
        self.trust = trust
        let all = Dictionary(uniqueKeysWithValues: launchers.map { (type(of: $0).plugin, $0) })
        self.launchers = all.filter { enabled?.contains($0.key) ?? true }
        self.disabled = Set(all.keys).subtracting(self.launchers.keys)
    }

    public subscript(plugin: String) -> (any TaskLauncher)? { launchers[plugin] }

    /// The plugin names, in a stable order.
    public var plugins: [String] { launchers.keys.sorted() }

    /// Has every launcher that watches its platform call `changed` on a task change.
    public func notifyChanges(_ changed: @escaping @Sendable () -> Void) {
        for launcher in launchers.values { launcher.notifyChanges(changed) }
    }

    /// Every task of `controllerID` on every platform.
    public func listTasks(managedBy controllerID: String) async throws -> [ObservedTask] {
        var tasks: [ObservedTask] = []
        for plugin in plugins { tasks += try await launchers[plugin]!.listTasks(managedBy: controllerID) }
        return tasks
    }

    /// The manifest loader's view: each available launcher validates its own config; a planned
    /// platform is refused at validate time rather than at launch.
    public var catalog: PluginCatalog {
        var validators: [String: PluginCatalog.Validator] = [:]
        for (name, launcher) in launchers { validators[name] = { launcher.validate(config: $0) } }
        return PluginCatalog(
            validators: validators, unavailable: Set(Self.plannedPlugins).subtracting(launchers.keys).subtracting(disabled), disabled: disabled,
            trust: trust)
    }
}
