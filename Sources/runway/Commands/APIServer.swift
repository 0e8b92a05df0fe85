import ArgumentParser
import Foundation
import Hummingbird
import Prometheus
import RunwayMetrics
import RunwayController
import RunwayServer
import RunwayStore
import ServiceLifecycle

/// Serves the runner API for the length of `body`, which receives the bound port.
enum APIServer {
    /// The runner API of a state dir, waking `wakeups` on every claim and report.
    static func api(
        stateDirectory: String, store: any StateStore, holding: HoldingSet, wakeups: Wakeups, heartbeatInterval: Duration,
        metrics: Metrics, readToken: String?, readiness: @escaping @Sendable () -> (ready: Bool, detail: String)
    ) -> RunnerAPI {
        var configuration = RunnerService.Configuration()
        configuration.heartbeatInterval = heartbeatInterval
        let logs = LogFiles(directory: stateDirectory + "/logs")
        let service = RunnerService(
            configuration: configuration, store: store, holding: holding, logs: logs, logger: Wiring.logger("runway.api"),
            metrics: metrics.runway, onChange: { wakeups.signal() })
        let registry = metrics.registry
        return RunnerAPI(service: service, store: store, logs: logs, readiness: readiness, metricsText: { RunwayMetrics.withHelp(registry.emitToString()) }, readToken: readToken)
    }

    static func serve<T: Sendable>(
        _ api: RunnerAPI, host: String, port: Int, _ body: @escaping @Sendable (Int) async throws -> T
    ) async throws -> T {
        let bound = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: api.router(), configuration: .init(address: .hostname(host, port: port), serverName: "runway"),
            onServerRunning: { channel in
                bound.continuation.yield(channel.localAddress?.port ?? port)
                bound.continuation.finish()
            }, logger: Wiring.logger("runway.http"))
        let server = ServiceGroup(configuration: .init(services: [app], logger: Wiring.logger("runway.http")))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                do {
                    try await server.run()
                } catch {
                    bound.continuation.finish()  // never bound: let the caller fail with the cause
                    throw error
                }
                return nil
            }
            var ports = bound.stream.makeAsyncIterator()
            guard let actualPort = await ports.next() else {
                var cause = "the server stopped"
                do { _ = try await group.next() } catch { cause = "\(error)" }
                throw failure("cannot listen on \(host):\(port): \(cause)", ExitStatus.unusable)
            }
            do {
                let result = try await body(actualPort)
                await server.triggerGracefulShutdown()
                return result
            } catch {
                await server.triggerGracefulShutdown()
                throw error
            }
        }
    }
}

/// The process's metrics: Runway's, recorded into one Prometheus registry that `/metrics` emits.
struct Metrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let runway: RunwayMetrics

    init() {
        runway = RunwayMetrics(factory: PrometheusMetricsFactory(registry: registry))
    }
}
