import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle

/// Runs a Hummingbird server on loopback (TCP, plain or TLS, or a unix socket) for the length of
/// `body`, which receives its base URL (`http://127.0.0.1:PORT`), then shuts it down.
public enum LoopbackServer {
    public static func run<Responder: HTTPResponder, T: Sendable>(
        _ responder: Responder, address: BindAddress = .hostname("127.0.0.1", port: 0), tls: TLSConfiguration? = nil,
        _ body: @escaping @Sendable (String) async throws -> T
    ) async throws -> T where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let app = Application(
            responder: responder, server: server, configuration: .init(address: address),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "loopback-server"))
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "loopback-server")))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            do {
                let result = try await body("\(tls == nil ? "http" : "https")://127.0.0.1:\(port)")
                await group.triggerGracefulShutdown()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }
}
