@_exported import RunwayWire
import CCurl
import Foundation
import Synchronization

/// The one HTTP client of Runway, on the system libcurl. Each transfer runs on a thread of its
/// own, never blocking Swift's cooperative pool; curl handles (and with them their open
/// connections) are pooled and reused.
public final class HTTPClient: Sendable {
    /// Client-wide settings. Every default is documented on its property.
    public struct Configuration: Sendable {
        /// Longest wait for a connection. Default 5 seconds.
        public var connectTimeout: Duration = .seconds(5)
        /// Longest a whole request may take, unless the request says otherwise. Default 30
        /// seconds. Streams have no total limit unless their request sets one.
        public var timeout: Duration = .seconds(30)
        /// How `https://` servers are verified, and the client certificate if any. Default: the
        /// system's trust store, no client certificate.
        public var tls = TLSOptions()
        /// Send every request through this unix socket (`/var/run/docker.sock`); the URL's path
        /// and query are used, its host only as the `Host` header. Default none (TCP).
        public var unixSocket: String?
        /// Default: from the environment (`https_proxy`, `no_proxy`, …) when the client is made.
        public var proxies = Proxies.fromEnvironment(ProcessInfo.processInfo.environment)
        /// `HOST:PORT:CONNECT-HOST:CONNECT-PORT` entries (curl's `--connect-to`): requests to
        /// HOST:PORT connect to the other address, while TLS still verifies HOST (a server
        /// certificate issued for a name, reached by IP). Default none.
        public var connectTo: [String] = []

        public init() {}
    }

    public let configuration: Configuration
    /// Idle curl handles; the mutex guards the array.
    private let idle = Mutex<[HandleBox]>([])

    public init(configuration: Configuration = Configuration()) {
        _ = HTTPClient.globalInit
        self.configuration = configuration
    }

    deinit {
        idle.withLock { handles in
            for handle in handles { curl_easy_cleanup(handle.pointer) }
            handles.removeAll()
        }
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Sends `request` and returns the whole response; any HTTP status is a response, not an error.
    /// - Throws: ``HTTPError`` when no response arrives (connection refused, timeout, TLS…).
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let handle = takeHandle()
        return try await withCheckedThrowingContinuation { continuation in
            // A thread of its own: a slow server must not hold up the other requests, and
            // Dispatch's pool runs only about one blocking item per core.
            let thread = Thread {
                let sink = ResponseSink(streaming: nil)
                let result = self.perform(request, sink: sink, on: handle)
                continuation.resume(with: result.map { HTTPResponse(status: sink.status, headers: sink.headers, body: sink.body) })
            }
            thread.name = "runway-http"
            thread.start()
        }
    }

    /// Sends `request` and returns as soon as the response head arrives; the body follows as
    /// chunks in ``HTTPStreamingResponse/body`` (for logs, watches and progress streams).
    /// Abandoning the body (or cancelling the task reading it) ends the transfer.
    /// - Throws: ``HTTPError`` when no response head arrives.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let handle = takeHandle()
        let (body, chunks) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        return try await withCheckedThrowingContinuation { (head: CheckedContinuation<HTTPStreamingResponse, any Error>) in
            let stream = StreamState(chunks: chunks) { status, headers in
                head.resume(returning: HTTPStreamingResponse(status: status, headers: headers, body: body))
            }
            chunks.onTermination = { _ in stream.cancelled.store(true, ordering: .relaxed) }
            let sink = ResponseSink(streaming: stream)
            let thread = Thread {
                switch self.perform(request, sink: sink, on: handle) {
                case .success:
                    stream.deliverHead(status: sink.status, headers: sink.headers)  // a response without a body
                    chunks.finish()
                case .failure(let error):
                    if stream.headDelivered {
                        chunks.finish(throwing: error)
                    } else {
                        head.resume(throwing: error)
                        chunks.finish(throwing: error)
                    }
                }
            }
            thread.name = "runway-http-stream"
            thread.start()
        }
    }

    private func takeHandle() -> HandleBox {
        idle.withLock { $0.popLast() } ?? HandleBox(pointer: curl_easy_init())
    }

    /// Runs one transfer on the calling thread, then returns the handle to the pool.
    private func perform(_ request: HTTPRequest, sink: ResponseSink, on handle: HandleBox) -> Result<Void, HTTPError> {
        let curl = handle.pointer
        defer {
            curl_easy_reset(curl)
            idle.withLock { $0.append(handle) }
        }
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headers) }
        for (name, value) in request.headers { headers = curl_slist_append(headers, "\(name): \(value)") }
        headers = curl_slist_append(headers, "Expect:")  // no 100-continue round trip for bodies
        let timeout = request.timeout ?? (sink.streaming == nil ? configuration.timeout : nil)

        _ = runway_curl_easy_setopt_string(curl, CURLOPT_URL, request.url)
        _ = runway_curl_easy_setopt_string(curl, CURLOPT_CUSTOMREQUEST, request.method)
        _ = runway_curl_easy_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = runway_curl_easy_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout.milliseconds))
        _ = runway_curl_easy_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(timeout?.milliseconds ?? 0))
        if let stall = request.stallTimeout {
            _ = runway_curl_easy_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = runway_curl_easy_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, max(1, Int((stall.milliseconds + 999) / 1000)))
        }
        _ = runway_curl_easy_setopt_slist(curl, CURLOPT_HTTPHEADER, headers)
        var connectTo: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(connectTo) }
        for entry in configuration.connectTo { connectTo = curl_slist_append(connectTo, entry) }
        _ = runway_curl_easy_setopt_slist(curl, CURLOPT_CONNECT_TO, connectTo)
        Self.apply(configuration.tls, to: curl)
        if let socket = configuration.unixSocket {
            _ = runway_curl_easy_setopt_string(curl, CURLOPT_UNIX_SOCKET_PATH, socket)
            _ = runway_curl_easy_setopt_string(curl, CURLOPT_PROXY, "")
        } else {
            // Always set, so curl never reads proxy variables on its own.
            _ = runway_curl_easy_setopt_string(curl, CURLOPT_PROXY, configuration.proxies.proxy(for: request.url) ?? "")
            if let noProxy = configuration.proxies.noProxy {
                _ = runway_curl_easy_setopt_string(curl, CURLOPT_NOPROXY, noProxy)
            }
        }
        if let body = request.body {
            _ = runway_curl_easy_setopt_off_t(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBytes { raw in
                _ = runway_curl_easy_setopt_pointer(curl, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
        } else if request.method == "GET" {
            _ = runway_curl_easy_setopt_long(curl, CURLOPT_HTTPGET, 1)
        } else if request.method == "HEAD" {
            _ = runway_curl_easy_setopt_long(curl, CURLOPT_NOBODY, 1)
        }
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        _ = runway_curl_easy_setopt_write_callback(curl, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            return sink.receive(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }
        _ = runway_curl_easy_setopt_pointer(curl, CURLOPT_WRITEDATA, context.toOpaque())
        _ = runway_curl_easy_setopt_write_callback(curl, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            sink.addHeaderLine(String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self))
            return size * count
        }
        _ = runway_curl_easy_setopt_pointer(curl, CURLOPT_HEADERDATA, context.toOpaque())
        if sink.streaming != nil {
            // Called about once a second even when no data flows: lets an abandoned stream end.
            _ = runway_curl_easy_setopt_long(curl, CURLOPT_NOPROGRESS, 0)
            _ = runway_curl_easy_setopt_xferinfo_callback(curl, CURLOPT_XFERINFOFUNCTION) { context, _, _, _, _ in
                let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
                return sink.streaming?.cancelled.load(ordering: .relaxed) == true ? 1 : 0
            }
            _ = runway_curl_easy_setopt_pointer(curl, CURLOPT_XFERINFODATA, context.toOpaque())
        }

        // curl's own words for a failure ("SSL certificate problem: unable to get local issuer…").
        var detail = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE))
        let code = detail.withUnsafeMutableBufferPointer { buffer in
            _ = runway_curl_easy_setopt_pointer(curl, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            return curl_easy_perform(curl)
        }
        _ = runway_curl_easy_setopt_pointer(curl, CURLOPT_ERRORBUFFER, nil)
        guard code == CURLE_OK else {
            let message = String(decoding: detail.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let cause = message.isEmpty ? String(cString: curl_easy_strerror(code)) : message
            return .failure(HTTPError(
                method: request.method, url: request.url, socket: configuration.unixSocket, code: Int(code.rawValue), cause: cause))
        }
        var status = 0
        _ = runway_curl_easy_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        sink.status = status
        return .success(())
    }
}

extension HTTPClient {
    /// Sets the TLS options on a handle (after `curl_easy_reset`, so on every request).
    private static func apply(_ tls: TLSOptions, to curl: UnsafeMutableRawPointer?) {
        func set(_ source: TLSOptions.Source?, file: CURLoption, blob: CURLoption) {
            switch source {
            case .file(let path): _ = runway_curl_easy_setopt_string(curl, file, path)
            case .pem(let text):
                var bytes = Array(text.utf8)
                _ = runway_curl_easy_setopt_blob(curl, blob, &bytes, bytes.count)
            case nil: break
            }
        }
        set(tls.certificateAuthority, file: CURLOPT_CAINFO, blob: CURLOPT_CAINFO_BLOB)
        set(tls.clientCertificate, file: CURLOPT_SSLCERT, blob: CURLOPT_SSLCERT_BLOB)
        set(tls.clientKey, file: CURLOPT_SSLKEY, blob: CURLOPT_SSLKEY_BLOB)
        if tls.clientCertificate != nil { _ = runway_curl_easy_setopt_string(curl, CURLOPT_SSLCERTTYPE, "PEM") }
        if tls.insecure {
            _ = runway_curl_easy_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 0)
            _ = runway_curl_easy_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 0)
        }
    }
}

/// A response whose body arrives in chunks. Header names are lowercased.
public struct HTTPStreamingResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: AsyncThrowingStream<[UInt8], any Error>

    /// The whole body (for error responses, which are short).
    public func collect(limit: Int = 1 << 20) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body where bytes.count < limit { bytes += chunk }
        return bytes
    }
}

/// A pooled curl easy handle. Used by one request at a time (taken from and returned to the pool).
private final class HandleBox: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer?
    init(pointer: UnsafeMutableRawPointer?) { self.pointer = pointer }
}

/// The streaming side of one transfer: the head is delivered once, then chunks.
private final class StreamState: @unchecked Sendable {
    let chunks: AsyncThrowingStream<[UInt8], any Error>.Continuation
    let cancelled = Atomic<Bool>(false)
    /// Touched only by the transfer's thread.
    private(set) var headDelivered = false
    private let onHead: (Int, [String: String]) -> Void

    init(chunks: AsyncThrowingStream<[UInt8], any Error>.Continuation, onHead: @escaping (Int, [String: String]) -> Void) {
        self.chunks = chunks
        self.onHead = onHead
    }

    func deliverHead(status: Int, headers: [String: String]) {
        guard !headDelivered else { return }
        headDelivered = true
        onHead(status, headers)
    }
}

/// Collects one response; made by the caller, then touched only by the thread running its request.
private final class ResponseSink: @unchecked Sendable {
    let streaming: StreamState?
    var status = 0
    var body: [UInt8] = []
    var headers: [String: String] = [:]

    init(streaming: StreamState?) { self.streaming = streaming }

    /// Keeps or forwards a body chunk; false aborts the transfer (an abandoned stream).
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let streaming else {
            body.append(contentsOf: bytes)
            return true
        }
        if streaming.cancelled.load(ordering: .relaxed) { return false }
        streaming.deliverHead(status: status, headers: headers)
        streaming.chunks.yield(Array(bytes))
        return true
    }

    func addHeaderLine(_ line: String) {
        if line.hasPrefix("HTTP/") {  // a new response (after 100 or a redirect)
            headers = [:]
            status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        headers[name] = value
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
