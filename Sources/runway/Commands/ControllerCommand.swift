import ArgumentParser
import Foundation
import RunwayController
import RunwayManifests
import RunwayServer
import RunwayStore

/// `runway controller DIR`: the reconcile loop, for pods and GitOps.
struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Reconcile a manifest directory continuously (the long-running controller).",
        discussion: """
            Runs a pass whenever the directory changes (inotify, or --poll), the runner API \
            reports, a deadline or backoff falls due, and at least every --resync. An invalid \
            directory is reported (log, /readyz, `runway status`) and the last good one stays in \
            force. One controller per state leads (a lease in the store); others stand by and \
            take over when it lapses. SIGTERM/SIGINT: stop starting, leave running jobs to their \
            tasks, hand the lease over, exit.
            """
    )

    @Argument(help: "The manifest directory (or files). Env: RUNWAY_MANIFESTS (colon-separated).")
    var paths: [String] = Environment.list("RUNWAY_MANIFESTS")

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("name the manifest directory (or set RUNWAY_MANIFESTS)") }
    }

    @OptionGroup var state: StateOptions
    @OptionGroup var launcherOptions: LauncherOptions
    @OptionGroup var controller: ControllerOptions

    @Option(name: .long, help: "Longest time between passes (catches drift made out of band). Env: RUNWAY_RESYNC.")
    var resync: ManifestDuration = Environment.duration("RUNWAY_RESYNC", default: .seconds(30))

    @Option(name: .customLong("poll"), help: "Poll the directory at this interval instead of watching it with inotify. Env: RUNWAY_POLL.")
    var pollFlag: ManifestDuration?
    /// `--poll`, else $RUNWAY_POLL.
    var poll: ManifestDuration? { pollFlag ?? Environment.optional("RUNWAY_POLL").flatMap(ManifestDuration.init(argument:)) }

    @Option(name: .long, help: "Longest a shutdown waits for the pass in flight before exiting. Env: RUNWAY_SHUTDOWN_GRACE.")
    var shutdownGrace: ManifestDuration = Environment.duration("RUNWAY_SHUTDOWN_GRACE", default: .seconds(10))

    func run() async throws {
        controller.bootstrapLogging(defaultLevel: .info)
        let health = ControllerHealth()
        let launchers = launcherOptions.launchers(state: state, ownFiles: controller.credentialFiles)
        let runtime = try await ControllerRuntime(
            options: controller, stateDirectory: state.stateDir, launchers: launchers, readiness: { health.readiness },
            desired: { health.desired })
        let paths = self.paths
        let loader = IncrementalManifestLoader(loader: Wiring.loader(launchers), paths: paths, fullReload: controller.fullReload.value)
        let wakeups = runtime.wakeups
        let shutdown = AtomicFlag()
        let directoryChanges = ManifestChangeLog()
        let logger = Wiring.logger("runway.controller")
        let grace = shutdownGrace.value
        let signals = SignalTrap(signals: [SIGINT, SIGTERM]) {
            guard !shutdown.exchange(true) else { return }
            wakeups.signal()
            // The pass in flight gets the grace period; then the process exits regardless.
            Thread {
                Thread.sleep(forTimeInterval: grace.timeInterval)
                FileHandle.standardError.write(Data("runway: shutdown grace elapsed; exiting\n".utf8))
                Foundation.exit(0)
            }.start()
        }
        defer { signals.stop() }
        let watcher = ManifestWatcher(roots: paths, mode: poll.map { .poll($0.value) } ?? .inotify) { changes in
            directoryChanges.note(changes)
            wakeups.signal()
        }
        watcher.start()
        defer { watcher.stop() }

        try await runtime.serve(command: "controller", logger: logger) { reconciler, _ in
            var settings = ControllerRun.Settings()
            settings.resync = resync.value
            let run = ControllerRun(
                reconciler: reconciler, lease: reconciler.lease!, settings: settings, reload: { loader.load(changes: $0) },
                wakeups: wakeups, directoryChanges: directoryChanges, shutdown: shutdown, health: health, logger: logger)
            await run.run()
        }
    }
}
