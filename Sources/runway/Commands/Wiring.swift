import ArgumentParser
import Foundation
import Logging
import RunwayController
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayServer
import RunwayStore

/// The one place that builds launchers, stores and loaders from flags.
enum Wiring {
    /// This executable, which local tasks run as `runway runner`.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// What a local task runs: the lean `runway-runner` beside this executable (the package
    /// builds both), else this executable (`runway runner`), as after `swift run runway`.
    static var runnerExecutable: String {
        let lean = URL(fileURLWithPath: executablePath).deletingLastPathComponent().appendingPathComponent("runway-runner").path
        return FileManager.default.isExecutableFile(atPath: lean) ? lean : executablePath
    }

    /// The launchers `enabled` names (nil: every one); the local one keeps its task records in
    /// `localTasks`.
    static func launchers(localTasks: String, enabled: Set<String>? = nil, trust: TrustPolicy) -> LauncherRegistry {
        LauncherRegistry([
            LocalLauncher(
                configuration: .init(directory: localTasks, runnerExecutable: runnerExecutable),
                logger: logger("runway.launcher.local")),
            DockerLauncher(trust: trust, logger: logger("runway.launcher.docker")),
            ECSLauncher(trust: trust, logger: logger("runway.launcher.ecs")),
            KubernetesLauncher(trust: trust, logger: logger("runway.launcher.kubernetes")),
            NomadLauncher(trust: trust, logger: logger("runway.launcher.nomad")),
        ], enabled: enabled, trust: trust)
    }

    /// Every launcher this build has.
    static let pluginNames = ["docker", "ecs", "kubernetes", "local", "nomad"]

    /// The loader that checks each profile's config with the launchers that will run it.
    static func loader(_ launchers: LauncherRegistry) -> ManifestLoader {
        ManifestLoader(configuration: .init(plugins: launchers.catalog))
    }

    /// The store of `directory`, or nil when nothing was ever recorded there (read-only commands).
    static func existingStore(_ directory: String) throws -> SQLiteStateStore? {
        guard FileManager.default.fileExists(atPath: directory + "/runway.sqlite") else { return nil }
        return try SQLiteStateStore(directory: directory)
    }

    /// The store of `directory` for commands that only read it; fails clearly when there is none.
    static func requireStore(_ directory: String) throws -> SQLiteStateStore {
        guard let store = try existingStore(directory) else {
            throw failure("no state in \(directory): nothing has run there yet (see `runway apply`)", .failure)
        }
        return store
    }

    /// Sets how every logger writes and from which level, once, before the first one is made.
    static func bootstrapLogging(_ format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    static func logger(_ label: String) -> Logger { Logger(label: label) }
}

extension HoldingSet: JobHolding {}
