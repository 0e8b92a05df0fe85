import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import RunwayTestSupport
import Synchronization

/// A request context that knows the peer's address (to tell connections apart).
struct PeerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peerPort: Int?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerPort = source.channel.remoteAddress?.port
    }
}

/// What `/echo` answers: the request as the server saw it.
struct Echo: Codable {
    var method: String
    var authority: String?
    var uri: String
    var headers: [String: String]
    var body: String
    var peerPort: Int?
}

/// What the server saw, for tests that check concurrency and abandoned streams.
final class ServerCounters: Sendable {
    let inFlight = Atomic<Int>(0)
    let maxInFlight = Atomic<Int>(0)
    let abandonedStreams = Atomic<Int>(0)
}

/// A loopback HTTP server for the client's tests: on TCP (plain or TLS) or a unix socket.
enum TestServer {
    static func responder(_ counters: ServerCounters) -> CallbackResponder<PeerContext> {
        CallbackResponder { request, context in
            switch request.uri.path {
            case "/echo":
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let echo = Echo(
                    method: request.method.rawValue, authority: request.head.authority, uri: request.uri.description, headers: headers,
                    body: String(buffer: body), peerPort: context.peerPort)
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(echo))))
            case "/status/404":
                return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "no such thing")))
            case "/slow":
                let now = counters.inFlight.add(1, ordering: .relaxed).newValue
                counters.maxInFlight.max(now, ordering: .relaxed)
                try await Task.sleep(for: .seconds(3))
                counters.inFlight.subtract(1, ordering: .relaxed)
                return Response(status: .ok)
            case "/stream":
                return Response(status: .ok, body: ResponseBody { writer in
                    for word in ["one\n", "two\n", "three\n"] {
                        try await writer.write(ByteBuffer(string: word))
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    try await writer.finish(nil)
                })
            case "/forever":
                // A chunk every 100 ms for a minute: the write fails as soon as the client goes.
                return Response(status: .ok, body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "first\n"))
                    for _ in 0..<600 {
                        try await Task.sleep(for: .milliseconds(100))
                        do {
                            try await writer.write(ByteBuffer(string: "more\n"))
                        } catch {
                            counters.abandonedStreams.add(1, ordering: .relaxed)
                            throw error
                        }
                    }
                    try await writer.finish(nil)
                })
            default:
                // A proxy sees the absolute URL in the request line.
                return Response(
                    status: .ok, body: .init(byteBuffer: ByteBuffer(string: "proxied \(request.head.authority ?? "-")\(request.uri)")))
            }
        }
    }

    /// Runs the server for the length of `body`, which receives its base URL ("http://127.0.0.1:PORT").
    static func run<T: Sendable>(
        address: BindAddress = .hostname("127.0.0.1", port: 0), tls: TLSConfiguration? = nil,
        counters: ServerCounters = ServerCounters(), _ body: @escaping @Sendable (String) async throws -> T
    ) async throws -> T {
        try await LoopbackServer.run(responder(counters), address: address, tls: tls, body)
    }
}
