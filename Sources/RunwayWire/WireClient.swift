import CRunwayTLS
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The runner's HTTP/1.1 client: one request per connection (`Connection: close`), plain TCP or
/// TLS through the system's OpenSSL, a total deadline per request. It links nothing else, so a
/// runner starts without libcurl's tree of libraries (krb5, ldap, gnutls, …), which was most of
/// its start-up. No proxy: a runner calls its own controller directly.
public final class WireClient: Sendable {
    let trust: TLSOptions.Source?
    /// Made at the first https request (reading the system's store costs milliseconds a plain
    /// http runner need not spend): the context, or why there is none.
    private let context = Mutex<Result<TLSContext, WireContextError>?>(nil)
    public let connectTimeout: Duration

    /// `trust`: the CA certificates an https controller's certificate must chain to; nil for the
    /// system's store.
    public init(trust: TLSOptions.Source? = nil, connectTimeout: Duration = .seconds(5)) {
        self.trust = trust
        self.connectTimeout = connectTimeout
    }

    private func tlsContext() -> Result<TLSContext, WireContextError> {
        context.withLock { made in
            if let made { return made }
            var error = [CChar](repeating: 0, count: 512)
            let pointer: OpaquePointer?
            switch trust {
            case .file(let path): pointer = runway_tls_context_new(path, nil, &error, error.count)
            case .pem(let text): pointer = runway_tls_context_new(nil, text, &error, error.count)
            case nil: pointer = runway_tls_context_new(nil, nil, &error, error.count)
            }
            let result: Result<TLSContext, WireContextError> = pointer.map { .success(TLSContext($0)) } ?? .failure(WireContextError(cause: cText(error)))
            made = result
            return result
        }
    }

    /// Sends one request and reads the whole answer (at most `limit` bytes of body).
    public func send(
        method: String, url: String, headers: [(String, String)], body: [UInt8], timeout: Duration, limit: Int = 64 << 20
    ) async throws -> WireResponse {
        try await withCheckedThrowingContinuation { continuation in
            // A thread of its own: the calls block (each bounded by the deadline).
            detachedThread {
                continuation.resume(with: Result {
                    try self.exchange(method: method, url: url, headers: headers, body: body, timeout: timeout, limit: limit)
                })
            }
        }
    }

    func exchange(method: String, url: String, headers: [(String, String)], body: [UInt8], timeout: Duration, limit: Int) throws -> WireResponse {
        let deadline = ContinuousClock.now + timeout
        func failure(_ cause: String, certificate: Bool = false, timedOut: Bool = false) -> WireError {
            WireError(method: method, url: url, cause: cause, isCertificateProblem: certificate, isTimeout: timedOut)
        }
        guard let target = WireURL(url) else { throw failure("not an http or https URL") }
        let connection = try WireSocket.connect(host: target.host, port: target.port, within: min(connectTimeout, timeout)) { failure($0, timedOut: $1) }
        defer { connection.close() }
        var stream: any WireStream = connection
        if target.secure {
            let context: TLSContext
            switch tlsContext() {
            case .success(let made): context = made
            case .failure(let error): throw failure(error.cause, certificate: true)
            }
            try connection.setTimeouts(until: deadline) { failure($0, timedOut: $1) }
            stream = try TLSStream(context: context, socket: connection, host: target.host) { failure($0, certificate: $1) }
        }
        var head = "\(method) \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try connection.setTimeouts(until: deadline) { failure($0, timedOut: $1) }
        try stream.write(Array(head.utf8) + body) { failure($0) }
        var reader = WireReader(stream: stream, deadline: deadline, socket: connection, limit: limit)
        return try reader.response { failure($0, timedOut: $1) }
    }
}

/// A whole response. Header names are lowercased.
public struct WireResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// No response: the method, URL and cause.
public struct WireError: Error, CustomStringConvertible {
    public var method: String
    public var url: String
    public var cause: String
    /// The server's certificate was not trusted, or the CA certificates given are unusable:
    /// retrying will not help until the configuration changes.
    public var isCertificateProblem: Bool
    public var isTimeout: Bool
    public var description: String { "\(method) \(url): \(cause)" }
}

/// An `http` or `https` URL, as the runner's controller URLs are.
struct WireURL {
    var secure: Bool
    var host: String
    var port: Int
    var path: String
    /// `host[:port]` (IPv6 literals bracketed), for the Host header.
    var hostHeader: String

    init?(_ text: String) {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return nil }
        secure = scheme == "https"
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = url.port ?? (secure ? 443 : 80)
        let query = url.percentEncodedQuery.map { "?" + $0 } ?? ""
        path = (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + query
        let named = self.host.contains(":") ? "[\(self.host)]" : self.host
        hostHeader = url.port == nil ? named : "\(named):\(port)"
    }
}

struct WireContextError: Error {
    var cause: String
}

final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { runway_tls_context_free(pointer) }
}

/// Runs `body` on a new detached thread.
func detachedThread(_ body: @escaping @Sendable () -> Void) {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let started = pthread_create(&thread, nil, { raw in
        Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, box)
    if started == 0 {
        pthread_detach(thread)
    } else {
        Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()  // no thread to be had: run it here
    }
}
