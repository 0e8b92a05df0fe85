import ArgumentParser
import Foundation
import Hummingbird
import RunwayController
import RunwayManifests
import RunwayModel
import RunwayServer
import RunwayStore
import ServiceLifecycle

/// `runway apply DIR`: one reconcile, run to the end.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Run every job of a manifest directory to the end, then exit.",
        discussion: """
            Validates the manifests, serves the runner API, and reconciles in passes until every \
            job has succeeded, failed or been cancelled and every task started for it has been \
            stopped. A job that already finished (same generation) is not run again. Ctrl-C \
            cancels, even during a platform call that hangs: running jobs get SIGTERM, their \
            tasks are stopped, their records say cancelled. A pass that fails (a platform that \
            cannot be listed, the store) is retried for --failure-timeout; then the run fails \
            and stops every task it started the same way. Stops are \
            retried for --stop-timeout; a task still running then is named. Exit status: 0 when \
            every job succeeded, 1 when any did not or the run failed, 2 when the manifests are \
            invalid or the flags are wrong.
            """
    )

    @Argument(help: "The manifest directory (or files).")
    var paths: [String]

    @OptionGroup var state: StateOptions
    @OptionGroup var launcherOptions: LauncherOptions
    @OptionGroup var controller: ControllerOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: "How long a cancelled or failed run keeps trying to stop what it started. Env: RUNWAY_STOP_TIMEOUT.")
    var stopTimeout: ManifestDuration = Environment.duration("RUNWAY_STOP_TIMEOUT", default: .seconds(60))

    @Option(name: .long, help: "How long passes that keep failing are retried before the run gives up and stops what it started. Env: RUNWAY_FAILURE_TIMEOUT.")
    var failureTimeout: ManifestDuration = Environment.duration("RUNWAY_FAILURE_TIMEOUT", default: .seconds(30))

    func run() async throws {
        controller.bootstrapLogging(defaultLevel: .warning)
        let launchers = launcherOptions.launchers(state: state, ownFiles: controller.credentialFiles)
        let paths = self.paths
        // Each pass reads again only the files that changed (every file again every --full-reload).
        let loader = IncrementalManifestLoader(loader: Wiring.loader(launchers), paths: paths, fullReload: controller.fullReload.value)
        let load = loader.load()
        DiagnosticPrinter.printToStandardError(load.diagnostics)
        guard load.isValid else {
            print(ValidationSummary(load: load, paths: paths).text)
            throw ExitStatus.unusable
        }
        let runtime = try await ControllerRuntime(
            options: controller, stateDirectory: state.stateDir, launchers: launchers, readiness: { (true, "ready") },
            desired: { [desired = load.desired] in desired })
        let wakeups = runtime.wakeups
        let cancellation = AtomicFlag()
        let logger = Wiring.logger("runway.apply")

        let signals = SignalTrap(signals: [SIGINT, SIGTERM]) {
            cancellation.set()
            wakeups.signal()
        }
        defer { signals.stop() }

        let result: ApplyRun.Result = try await runtime.serve(command: "apply", logger: logger) { reconciler, _ in
            let progress = ProgressPrinter(interactive: isatty(1) == 1 && output.output == .text)
            var settings = ApplyRun.Settings()
            settings.stopTimeout = stopTimeout.value
            settings.failureTimeout = failureTimeout.value
            let run = ApplyRun(
                reconciler: reconciler, settings: settings, reload: { loader.load() }, wakeups: wakeups, cancellation: cancellation,
                logger: logger,
                onWaitForLease: { leader in
                    let who = leader.map { "\($0.holder), until \($0.expiresAt.formatted(.iso8601))" } ?? "another controller"
                    FileHandle.standardError.write(Data("waiting: another controller leads this state (\(who))\n".utf8))
                })
            let result: ApplyRun.Result
            do {
                result = try await run.run(initial: load.desired) { outcome, desired in
                    if output.output == .text { progress.update(outcome.records, desired: desired) }
                }
            } catch let error as NotLeaderError {
                throw failure("\(error)", ExitStatus.unusable)
            }
            return result
        }
        if let failure = result.failure {
            FileHandle.standardError.write(Data("runway apply: the run failed: \(failure)\n".utf8))
        }
        for task in result.unstopped {
            FileHandle.standardError.write(Data("runway apply: could not stop task \(task.name) on \(task.plugin) (id \(task.id))\n".utf8))
        }
        for plugin in result.unlisted {
            FileHandle.standardError.write(Data(
                "runway apply: could not list the tasks on \(plugin): a task whose start never answered may be left there (label runway.io/managed-by)\n".utf8))
        }
        switch output.output {
        case .text:
            print(SummaryTable.text(result.records.map(JobStatusDocument.init), cancelled: result.cancelled), terminator: "")
            if !result.scheduled.isEmpty {
                print("\nScheduled (apply starts none; a controller runs them):")
                for (job, next) in result.scheduled {
                    print("  \(job)  " + (next.map { "next run at \($0.formatted(.iso8601))" } ?? "suspended"))
                }
            }
        case .json:
            print(JSONOutput.encode(result.records.map(JobStatusDocument.init)))
        }
        if !result.allSucceeded { throw ExitStatus.jobsFailed }
    }
}
