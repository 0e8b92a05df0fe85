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
            cancels: running jobs get SIGTERM, their tasks are stopped, their records say \
            cancelled. Exit status: 0 when every job succeeded, 1 when any did not, 2 when the \
            manifests are invalid or the flags are wrong.
            """
    )

    @Argument(help: "The manifest directory (or files).")
    var paths: [String]

    @OptionGroup var state: StateOptions
    @OptionGroup var controller: ControllerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let loader = Wiring.loader(stateDirectory: state.stateDir)
        let paths = self.paths
        let load = loader.load(paths: paths)
        DiagnosticPrinter.printToStandardError(load.diagnostics)
        guard load.isValid else {
            print(ValidationSummary(load: load, paths: paths).text)
            throw ExitStatus.unusable
        }
        let store = try SQLiteStateStore(directory: state.stateDir)
        let holding = HoldingSet()
        let wakeups = Wakeups()
        let cancellation = CancellationFlag()
        let logger = Wiring.logger("runway.apply")
        let (host, port) = controller.listenAddress!

        var serviceConfiguration = RunnerService.Configuration()
        serviceConfiguration.heartbeatInterval = controller.heartbeatInterval.value
        let service = RunnerService(
            configuration: serviceConfiguration, store: store, holding: holding,
            logs: LogFiles(directory: state.stateDir + "/logs"), logger: Wiring.logger("runway.api"),
            onChange: { wakeups.signal() })
        let api = RunnerAPI(service: service, store: store, logs: LogFiles(directory: state.stateDir + "/logs"), readiness: { true })
        let bound = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: api.router(), configuration: .init(address: .hostname(host, port: port), serverName: "runway"),
            onServerRunning: { channel in
                bound.continuation.yield(channel.localAddress?.port ?? port)
                bound.continuation.finish()
            }, logger: Wiring.logger("runway.http"))

        let signals = SignalTrap(signals: [SIGINT, SIGTERM]) {
            cancellation.set()
            wakeups.signal()
        }
        defer { signals.stop() }

        let server = ServiceGroup(configuration: .init(services: [app], logger: Wiring.logger("runway.http")))
        let result: ApplyRun.Result = try await withThrowingTaskGroup(of: ApplyRun.Result?.self) { group in
            group.addTask {
                do {
                    try await server.run()
                } catch {
                    bound.continuation.finish()  // never bound: let the caller fail with the cause
                    throw error
                }
                return nil
            }
            var iterator = bound.stream.makeAsyncIterator()
            guard let actualPort = await iterator.next() else {
                var cause = "the server stopped"
                do { _ = try await group.next() } catch { cause = "\(error)" }
                throw failure("cannot listen on \(controller.listen): \(cause)", ExitStatus.unusable)
            }
            var configuration = ControllerConfiguration(
                serverURL: controller.advertiseURL ?? "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(actualPort)")
            configuration.controllerID = controller.controllerID
            configuration.heartbeatInterval = controller.heartbeatInterval.value
            configuration.heartbeatTimeout = controller.heartbeatTimeout.value
            configuration.parallelism = controller.parallelism
            configuration.image = ProcessInfo.processInfo.environment["RUNWAY_IMAGE"]
            var leaseConfiguration = LeaderLease.Configuration()
            leaseConfiguration.duration = controller.leaseDuration.value
            let lease = LeaderLease(configuration: leaseConfiguration, controllerID: controller.controllerID, store: store, logger: logger)
            let reconciler = Reconciler(
                configuration: configuration, launchers: Wiring.launchers(stateDirectory: state.stateDir), store: store,
                holding: holding, lease: lease, logger: logger)
            let progress = ProgressPrinter(interactive: isatty(1) == 1 && output.output == .text)
            let run = ApplyRun(
                reconciler: reconciler, reload: { loader.load(paths: paths) }, wakeups: wakeups, cancellation: cancellation,
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
                await server.triggerGracefulShutdown()
                throw failure("\(error)", ExitStatus.unusable)
            }
            await server.triggerGracefulShutdown()
            return result
        }
        switch output.output {
        case .text:
            print(SummaryTable.text(result.records, cancelled: result.cancelled), terminator: "")
        case .json:
            print(JSONOutput.encode(result.records.map(JobStatusDocument.init)))
        }
        if !result.allSucceeded { throw ExitStatus.jobsFailed }
    }
}
