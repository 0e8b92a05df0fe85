import ArgumentParser
import RunwayLaunchers

/// `--output text|json`, the same option on every command that prints data.
struct OutputOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(name: [.customShort("o"), .long], help: "Output format: text (for people) or json (for programs).")
    var output: Format = .text
}

/// `--state-dir`, where the controller keeps its store, logs and task records.
struct StateOptions: ParsableArguments {
    static let defaultDirectory = "./.runway"

    @Option(name: .long, help: "Directory of the state store, logs and task records. Env: RUNWAY_STATE_DIR.")
    var stateDir: String = Environment.string("RUNWAY_STATE_DIR", default: StateOptions.defaultDirectory)
}

/// Where the launchers keep what they must (for the commands that look at or run tasks).
/// `--plugins`: which launchers this controller uses.
struct PluginOptions: ParsableArguments {
    @Option(
        name: .customLong("plugins"),
        help: "The launchers to use, comma-separated (docker, ecs, kubernetes, local, nomad); the others are switched off, and a profile naming one is an error. Default: all. Env: RUNWAY_PLUGINS.")
    var pluginsFlag: String?

    /// `--plugins`, else $RUNWAY_PLUGINS; nil: every launcher.
    var enabled: Set<String>? {
        (pluginsFlag ?? Environment.optional("RUNWAY_PLUGINS")).map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
    }

    func validate() throws {
        let unknown = (enabled ?? []).subtracting(Wiring.pluginNames).sorted()
        guard unknown.isEmpty else {
            throw ValidationError("--plugins names no launcher of this build: \(unknown.joined(separator: ", ")) (known: \(Wiring.pluginNames.joined(separator: ", ")))")
        }
    }
}

struct LauncherOptions: ParsableArguments {
    @OptionGroup var plugins: PluginOptions

    @Option(
        name: .customLong("local-tasks-dir"),
        help: "Where the local launcher records its tasks (default: <state-dir>/tasks/local). Controllers on one host sharing a PostgreSQL store share this too, as they share the host's processes. Env: RUNWAY_LOCAL_TASKS_DIR.")
    var localTasksDirFlag: String?
    /// `--local-tasks-dir`, else $RUNWAY_LOCAL_TASKS_DIR.
    var localTasksDir: String? { localTasksDirFlag ?? Environment.optional("RUNWAY_LOCAL_TASKS_DIR") }

    /// Every launcher; the local one records its tasks in `--local-tasks-dir`.
    func launchers(state: StateOptions) -> LauncherRegistry {
        Wiring.launchers(localTasks: localTasksDir ?? state.stateDir + "/tasks/local", enabled: plugins.enabled)
    }
}
