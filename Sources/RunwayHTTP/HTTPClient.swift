import CCurl
import Foundation
import Synchronization

/// The one HTTP client of Runway, on the system libcurl. Requests run on Dispatch threads (never
/// blocking Swift's cooperative pool); curl handles are pooled so connections are reused.
public final class HTTPClient: Sendable {
    /// Client-wide settings. Every default is documented on its property.
    public struct Configuration: Sendable {
        /// Longest wait for a connection. Default 5 seconds.
        public var connectTimeout: Duration = .seconds(5)
        /// Longest a whole request may take, unless the request says otherwise. Default 30 seconds.
        public var timeout: Duration = .seconds(30)
        /// How `https://` servers are verified, and the client certificate if any. Default: the
        /// system's trust store, no client certificate.
        public var tls = TLSOptions()

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
        let handle = idle.withLock { $0.popLast() } ?? HandleBox(pointer: curl_easy_init())
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let result = self.perform(request, on: handle.pointer)
                curl_easy_reset(handle.pointer)
                self.idle.withLock { $0.append(handle) }
                continuation.resume(with: result)
            }
        }
    }

    private func perform(_ request: HTTPRequest, on curl: UnsafeMutableRawPointer?) -> Result<HTTPResponse, HTTPError> {
        let sink = ResponseSink()
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headers) }
        for (name, value) in request.headers { headers = curl_slist_append(headers, "\(name): \(value)") }
        headers = curl_slist_append(headers, "Expect:")  // no 100-continue round trip for bodies
        let timeout = request.timeout ?? configuration.timeout

        _ = runway_curl_easy_setopt_string(curl, CURLOPT_URL, request.url)
        _ = runway_curl_easy_setopt_string(curl, CURLOPT_CUSTOMREQUEST, request.method)
        _ = runway_curl_easy_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = runway_curl_easy_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout.milliseconds))
        _ = runway_curl_easy_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(timeout.milliseconds))
        _ = runway_curl_easy_setopt_slist(curl, CURLOPT_HTTPHEADER, headers)
        Self.apply(configuration.tls, to: curl)
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
            sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
        _ = runway_curl_easy_setopt_pointer(curl, CURLOPT_WRITEDATA, context.toOpaque())
        _ = runway_curl_easy_setopt_write_callback(curl, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            sink.addHeaderLine(String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self))
            return size * count
        }
        _ = runway_curl_easy_setopt_pointer(curl, CURLOPT_HEADERDATA, context.toOpaque())

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
            return .failure(HTTPError(method: request.method, url: request.url, code: Int(code.rawValue), cause: cause))
        }
        var status = 0
        _ = runway_curl_easy_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
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

/// A pooled curl easy handle. Used by one request at a time (taken from and returned to the pool).
private final class HandleBox: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer?
    init(pointer: UnsafeMutableRawPointer?) { self.pointer = pointer }
}

/// Collects one response; touched only by the thread running its request.
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [String: String] = [:]

    func addHeaderLine(_ line: String) {
        if line.hasPrefix("HTTP/") { headers = [:]; return }  // a new response (after 100 or a redirect)
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
