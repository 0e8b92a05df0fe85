import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import Prometheus
import RunwayMetrics
import RunwayModel
import RunwayController
import RunwayServer
import RunwayStore
import ServiceLifecycle

/// Serves the runner API for the length of `body`, which receives the bound port.
enum APIServer {
    /// The listener's certificate chain and private key (PEM files).
    struct TLS: Sendable {
        var certificateFile: String
        var keyFile: String

        /// NIOSSL's server configuration, or a failure naming the file that could not be used.
        func configuration() throws -> TLSConfiguration {
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            } catch {
                throw failure("cannot use --tls-cert \(certificateFile): \(error)", ExitStatus.unusable)
            }
            guard !chain.isEmpty else { throw failure("--tls-cert \(certificateFile) holds no certificate", ExitStatus.unusable) }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            } catch {
                throw failure("cannot use --tls-key \(keyFile): \(error)", ExitStatus.unusable)
            }
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12  // TLS 1.0 and 1.1 are broken and deprecated (RFC 8996)
            return configuration
        }
    }

    /// The runner API of a state dir, waking `wakeups` on every claim and report.
    static func api(
        stateDirectory: String, store: any StateStore, holding: HoldingSet, wakeups: Wakeups, heartbeatInterval: Duration,
        maxOutputBytes: Int, metrics: Metrics, policy: TrustPolicy, readiness: @escaping @Sendable () -> (ready: Bool, detail: String),
        route: @escaping @Sendable () async -> RunnerRoute = { .serve }, desired: @escaping @Sendable () -> DesiredState? = { nil }
    ) -> RunnerAPI {
        var configuration = RunnerService.Configuration()
        configuration.heartbeatInterval = heartbeatInterval
        configuration.maxOutputBytes = maxOutputBytes
        let logs = LogFiles(directory: stateDirectory + "/logs")
        let service = RunnerService(
            configuration: configuration, store: store, holding: holding, logs: logs, logger: Wiring.logger("runway.api"),
            metrics: metrics.runway, onChange: { wakeups.signal() })
        let registry = metrics.registry
        return RunnerAPI(
            service: service, store: store, logs: logs, policy: policy, readiness: readiness,
            metricsText: { RunwayMetrics.withHelp(registry.emitToString()) }, route: route, desired: desired)
    }

    /// Serves `api`; a connection with no request in flight for `idleTimeout` is closed, and at
    /// most `maxConnections` are served at once (more wait in the listen backlog).
    static func serve<T: Sendable>(
        _ api: RunnerAPI, host: String, port: Int, tls: TLS? = nil, maxConnections: Int = 4096, idleTimeout: Duration = .seconds(60),
        _ body: @escaping @Sendable (Int) async throws -> T
    ) async throws -> T {
        let bound = AsyncStream.makeStream(of: Int.self)
        let idle = TimeAmount.milliseconds(Int64(idleTimeout.timeInterval * 1000))
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: idle))
        let server: HTTPServerBuilder = try tls.map { try .tls(http1, tlsConfiguration: try $0.configuration()) } ?? http1
        // Past the limit, new connections wait in the listen backlog until one closes.
        let configuration = ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: "runway",
            availableConnectionsDelegate: MaximumAvailableConnections(maxConnections, logger: Wiring.logger("runway.http")))
        let app = Application(
            router: api.router(), server: server, configuration: configuration,
            onServerRunning: { channel in
                bound.continuation.yield(channel.localAddress?.port ?? port)
                bound.continuation.finish()
            }, logger: Wiring.logger("runway.http"))
        let services = ServiceGroup(configuration: .init(services: [app], logger: Wiring.logger("runway.http")))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                do {
                    try await services.run()
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
                await services.triggerGracefulShutdown()
                return result
            } catch {
                await services.triggerGracefulShutdown()
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
