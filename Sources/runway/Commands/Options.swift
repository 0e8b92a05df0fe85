import ArgumentParser
import Foundation
import RunwayLaunchers
import RunwayModel

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

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        let unknown = (enabled ?? []).subtracting(Wiring.pluginNames).sorted()
        guard unknown.isEmpty else {
            throw ValidationError("--plugins names no launcher of this build: \(unknown.joined(separator: ", ")) (known: \(Wiring.pluginNames.joined(separator: ", ")))")
        }
    }
}

/// Where manifests may draw secrets from, and which endpoints they name may get the
/// controller's own credentials (``TrustPolicy``).
struct TrustOptions: ParsableArguments {
    @Option(
        name: .customLong("secret-env"),
        help: "Environment variables a manifest's fromEnv may name, comma-separated: names, or prefixes ending in *. The controller's own credentials (NOMAD_*, AWS_*, RUNWAY_API_TOKEN, RUNWAY_STORE*, …) are never allowed. Default: RUNWAY_SECRET_*. Env: RUNWAY_SECRET_ENV.")
    var secretEnvFlag: String?

    @Option(
        name: .customLong("secret-dirs"),
        help: "Directories whose files a manifest's fromFile may name, colon-separated (symlinks resolved). Service-account tokens, the state dir and the controller's own credential files are never allowed. Default: /etc/runway/secrets. Env: RUNWAY_SECRET_DIRS.")
    var secretDirsFlag: String?

    @Option(
        name: .customLong("trusted-endpoints"),
        help: "Endpoints a manifest may name (a Nomad address, a Docker host, an ECS endpoint) that still get the controller's own credentials, comma-separated URLs. Other endpoints a manifest names get only the credentials it names itself. Default: none. Env: RUNWAY_TRUSTED_ENDPOINTS.")
    var trustedEndpointsFlag: String?

    /// The policy these flags describe; `ownFiles` are more of the controller's own credential
    /// files (its state directory, token and key files) that no manifest may read.
    func policy(ownFiles: [String] = []) -> TrustPolicy {
        func list(_ text: String?, _ separator: Character) -> [String]? {
            text.map { $0.split(separator: separator).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"] ?? NSHomeDirectory()
        // Files the controller's platform clients read credentials from.
        let credentialFiles = ["KUBECONFIG", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
            "RUNWAY_API_TOKEN_FILE", "RUNWAY_STORE_PASSWORD_FILE", "RUNWAY_TLS_KEY", "NOMAD_CLIENT_KEY", "DOCKER_CERT_PATH"]
            .compactMap { environment[$0] }.flatMap { $0.split(separator: ":").map(String.init) }
        return TrustPolicy(
            secretVariables: list(secretEnvFlag ?? Environment.optional("RUNWAY_SECRET_ENV"), ",") ?? TrustPolicy.defaultSecretVariables,
            secretDirectories: list(secretDirsFlag ?? Environment.optional("RUNWAY_SECRET_DIRS"), ":") ?? TrustPolicy.defaultSecretDirectories,
            ownFiles: TrustPolicy.controllerFiles + credentialFiles + [home + "/.kube", home + "/.aws", home + "/.docker"] + ownFiles,
            trustedEndpoints: list(trustedEndpointsFlag ?? Environment.optional("RUNWAY_TRUSTED_ENDPOINTS"), ",") ?? [])
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

    /// Every launcher; the local one records its tasks in `--local-tasks-dir`. No manifest may
    /// read the state dir or `ownFiles` (the controller's token, key and password files).
    func launchers(state: StateOptions, ownFiles: [String] = []) -> LauncherRegistry {
        Wiring.launchers(
            localTasks: localTasksDir ?? state.stateDir + "/tasks/local", enabled: plugins.enabled,
            trust: plugins.trust.policy(ownFiles: [state.stateDir] + ownFiles))
    }
}
