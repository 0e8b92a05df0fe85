import Foundation
import RunwayHTTP
import Synchronization

/// Where a Docker engine listens, parsed from `host` or `DOCKER_HOST`.
struct DockerEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The engine's default socket.
    static let defaultSocket = "unix:///var/run/docker.sock"

    let text: String
    /// Set for `unix://` endpoints.
    let socket: String?
    /// The URL requests are made to (`http://docker` for a socket).
    let baseURL: String

    init?(_ text: String) {
        self.text = text
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { return nil }
            socket = path
            baseURL = "http://docker"
        } else if text.hasPrefix("tcp://") || text.hasPrefix("http://") || text.hasPrefix("https://") {
            let rest = text.hasPrefix("tcp://") ? String(text.dropFirst("tcp://".count)) : nil
            guard rest.map({ !$0.isEmpty && !$0.contains("/") }) ?? true else { return nil }
            socket = nil
            baseURL = rest.map { "tcp://\($0)" } ?? (text.hasSuffix("/") ? String(text.dropLast()) : text)
        } else {
            return nil
        }
    }

    var description: String { text }

    /// The endpoint a profile uses: its `host`, else `DOCKER_HOST`, else the default socket.
    static func resolve(host: String?, environment: [String: String]) -> DockerEndpoint? {
        DockerEndpoint(host ?? environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultSocket)
    }
}

/// One engine's API: version negotiated once, JSON in and out, errors that name the call.
final class DockerEngine: Sendable {
    /// The oldest API version Runway speaks (Docker 20.10); newer engines are asked for theirs, up to `newest`.
    static let oldest = APIVersion(1, 41)
    static let newest = APIVersion(1, 47)

    let endpoint: DockerEndpoint
    private let http: HTTPClient
    private let baseURL: String
    private let version = Mutex<APIVersion?>(nil)

    init(endpoint: DockerEndpoint, environment: [String: String]) {
        self.endpoint = endpoint
        var configuration = HTTPClient.Configuration()
        configuration.unixSocket = endpoint.socket
        configuration.timeout = .seconds(60)
        var base = endpoint.baseURL
        if base.hasPrefix("tcp://") {
            // DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the docker CLI reads them.
            let verify = !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty
            let certificates = environment["DOCKER_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 }
            let secure = verify || certificates != nil
            base = (secure ? "https://" : "http://") + base.dropFirst("tcp://".count)
            if let certificates {
                configuration.tls.clientCertificate = .file(certificates + "/cert.pem")
                configuration.tls.clientKey = .file(certificates + "/key.pem")
                if verify { configuration.tls.certificateAuthority = .file(certificates + "/ca.pem") }
            }
            configuration.tls.insecure = secure && !verify
        }
        self.baseURL = base
        self.http = HTTPClient(configuration: configuration)
    }

    /// The version to speak: the engine's own, capped at `newest`; an engine older than `oldest` is refused.
    func negotiatedVersion() async throws -> APIVersion {
        if let known = version.withLock({ $0 }) { return known }
        let response = try await send("GET", "/version", versioned: false)
        guard response.status == 200, let info = try? JSONDecoder().decode(VersionInfo.self, from: Data(response.body)),
            let engine = APIVersion(info.ApiVersion)
        else {
            throw DockerError.unexpected("GET /version", status: response.status, message: response.text)
        }
        guard engine >= Self.oldest else {
            throw DockerError.tooOld(engine: "\(engine)", endpoint: endpoint.text)
        }
        let chosen = min(engine, Self.newest)
        version.withLock { $0 = chosen }
        return chosen
    }

    /// One API call under the negotiated version (`/v1.41/containers/json`…).
    func send(
        _ method: String, _ path: String, query: [(String, String)] = [], json body: (any Encodable)? = nil,
        headers: [(String, String)] = [], versioned: Bool = true, timeout: Duration? = nil
    ) async throws -> HTTPResponse {
        var request = try await request(method, path, query: query, json: body, headers: headers, versioned: versioned)
        request.timeout = timeout
        do {
            return try await http.send(request)
        } catch let error as HTTPError {
            throw DockerError.unreachable(endpoint: endpoint.text, cause: error)
        }
    }

    /// A call whose answer is a stream of JSON lines (an image pull's progress), abandoned past
    /// `timeout` in all or when nothing arrives for `stallTimeout`.
    func stream(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [], timeout: Duration,
        stallTimeout: Duration
    ) async throws -> HTTPStreamingResponse {
        var request = try await request(method, path, query: query, json: nil, headers: headers, versioned: true)
        request.timeout = timeout
        request.stallTimeout = stallTimeout
        do {
            return try await http.stream(request)
        } catch let error as HTTPError {
            throw DockerError.unreachable(endpoint: endpoint.text, cause: error)
        }
    }

    private func request(
        _ method: String, _ path: String, query: [(String, String)], json body: (any Encodable)?, headers: [(String, String)],
        versioned: Bool
    ) async throws -> HTTPRequest {
        let prefix = versioned ? "/v\(try await negotiatedVersion())" : ""
        var components = URLComponents()
        components.queryItems = query.isEmpty ? nil : query.map { URLQueryItem(name: $0.0, value: $0.1) }
        // `+` is a space to some servers; Docker's filters and names never need one, so encode it.
        let queryText = components.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? ""
        var allHeaders = headers
        var bytes: [UInt8]?
        if let body {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            bytes = Array(try encoder.encode(body))
            allHeaders.append(("Content-Type", "application/json"))
        }
        return HTTPRequest(method: method, url: baseURL + prefix + path + queryText, headers: allHeaders, body: bytes)
    }
}

/// `1.41`, compared numerically.
struct APIVersion: Sendable, Comparable, CustomStringConvertible {
    let major: Int
    let minor: Int

    init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major, minor)
    }

    static func < (a: APIVersion, b: APIVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    var description: String { "\(major).\(minor)" }
}

/// What went wrong talking to an engine, in words an operator can act on.
enum DockerError: Error, CustomStringConvertible {
    case unreachable(endpoint: String, cause: HTTPError)
    case tooOld(engine: String, endpoint: String)
    case unexpected(String, status: Int, message: String)

    var description: String {
        switch self {
        case .unreachable(let endpoint, let cause): "Docker engine at \(endpoint) did not answer: \(cause)"
        case .tooOld(let engine, let endpoint):
            "Docker engine at \(endpoint) speaks API \(engine); Runway needs \(DockerEngine.oldest) or later (Docker 20.10+)"
        case .unexpected(let call, let status, let message):
            "\(call) answered HTTP \(status): \(DockerAPIMessage.text(message))"
        }
    }
}

/// Docker's error bodies are `{"message": "…"}`.
enum DockerAPIMessage {
    static func text(_ body: String) -> String {
        struct Body: Decodable { var message: String }
        let message = (try? JSONDecoder().decode(Body.self, from: Data(body.utf8)))?.message ?? body
        return message.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
