import Foundation
import RunwayHTTP
import Synchronization

/// The namespaced resources Runway uses, with their API paths.
enum KubernetesResource: String, Sendable {
    case jobs, pods, secrets

    var group: String { self == .jobs ? "batch" : "" }
    /// `jobs.batch`, `pods`: how RBAC and the API's messages name it.
    var qualified: String { group.isEmpty ? rawValue : "\(rawValue).\(group)" }

    func path(namespace: String, name: String?) -> String {
        let prefix = group.isEmpty ? "/api/v1" : "/apis/\(group)/v1"
        return "\(prefix)/namespaces/\(namespace)/\(rawValue)" + (name.map { "/\($0)" } ?? "")
    }
}

/// One API call, named the way RBAC names it (the verb, the resource, the namespace).
struct KubernetesCall: Sendable {
    var verb: String
    var resource: KubernetesResource
    var namespace: String
    var name: String?
    var query: [(String, String)] = []
    var body: [UInt8]?
    var contentType = "application/json"

    var method: String {
        switch verb {
        case "create": "POST"
        case "update": "PUT"
        case "patch": "PATCH"
        case "delete": "DELETE"
        default: "GET"
        }
    }

    var summary: String { "\(verb) \(resource.qualified)\(name.map { " \($0)" } ?? "") in namespace \(namespace)" }
}

/// An answer other than 2xx: the HTTP status and the API's `metav1.Status`.
struct KubernetesAPIError: Error, CustomStringConvertible {
    var call: String
    var status: Int
    var reason: String
    var message: String

    var description: String { "\(call): HTTP \(status) \(reason): \(message)" }

    /// Worth trying again: throttled or a server-side failure.
    var isRetryable: Bool { status == 429 || (500...599).contains(status) && status != 501 }
}

/// Talks to one cluster's API server: authentication, TLS, retries with backoff (429 honouring
/// `Retry-After`, 5xx and unreachable), and `metav1.Status` errors.
final class KubernetesClient: CountingClient {
    let access: KubernetesAccess
    private let http: HTTPClient
    private let tokens: KubernetesTokenSource
    private let requests = Atomic<Int>(0)
    /// Up to 10 tries per call, as client-go's default of 10 retries.
    private let retry = APIRetry(attempts: 10)

    var requestCount: Int { requests.load(ordering: .relaxed) }

    init(access: KubernetesAccess, pluginTimeout: Duration = KubernetesTokenSource.pluginTimeout) {
        self.access = access
        var configuration = HTTPClient.Configuration()
        configuration.tls = access.tls
        configuration.timeout = .seconds(30)
        self.http = HTTPClient(configuration: configuration)
        self.tokens = KubernetesTokenSource(access.credential, pluginTimeout: pluginTimeout)
    }

    /// Sends `call` and returns the successful answer's body; throws ``KubernetesAPIError`` for
    /// an error answer, `HTTPError` when the server stayed unreachable, ``KubernetesAccessError``
    /// when there is no credential to send.
    func send(_ call: KubernetesCall) async throws -> [UInt8] {
        let url = self.url(call)
        var refreshedCredential = false
        while true {
            var headers = [("Accept", "application/json")]
            if call.body != nil { headers.append(("Content-Type", call.contentType)) }
            if let authorization = try await tokens.header() { headers.append(("Authorization", authorization)) }
            let request = HTTPRequest(method: call.method, url: url, headers: headers, body: call.body)
            let response = try await retry.send(counting: requests, retryable: { Self.error(call, $0).isRetryable }) {
                try await http.send(request)
            }
            if (200..<300).contains(response.status) { return response.body }
            if response.status == 401 && !refreshedCredential {
                refreshedCredential = true  // a rotated or expired token: read or run again, once
                tokens.invalidate()
                continue
            }
            throw Self.error(call, response)
        }
    }

    /// A watch (`call` with `watch=1` in its query): the answer's head once it arrives, its events
    /// following in the body. No retries (the caller lists and watches again); a body silent for
    /// `stall` ends it.
    func stream(_ call: KubernetesCall, stall: Duration) async throws -> HTTPStreamingResponse {
        var headers = [("Accept", "application/json")]
        if let authorization = try await tokens.header() { headers.append(("Authorization", authorization)) }
        var request = HTTPRequest(method: "GET", url: url(call), headers: headers)
        request.stallTimeout = stall
        request.timeout = .seconds(3600)
        requests.add(1, ordering: .relaxed)
        let response = try await http.stream(request)
        if (200..<300).contains(response.status) { return response }
        if response.status == 401 { tokens.invalidate() }
        let body = (try? await response.collect(limit: 64 << 10)) ?? []
        throw Self.error(call, HTTPResponse(status: response.status, headers: response.headers, body: body))
    }

    private func url(_ call: KubernetesCall) -> String {
        var parameters = call.query
        // Refuse unknown fields rather than drop them (a real server's default only warns).
        if ["create", "update", "patch"].contains(call.verb) { parameters.append(("fieldValidation", "Strict")) }
        var components = URLComponents()
        components.queryItems = parameters.isEmpty ? nil : parameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        let query = components.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? ""
        return access.server + call.resource.path(namespace: call.namespace, name: call.name) + query
    }

    static func error(_ call: KubernetesCall, _ response: HTTPResponse) -> KubernetesAPIError {
        struct Status: Decodable {
            var message: String?
            var reason: String?
        }
        let status = try? JSONDecoder().decode(Status.self, from: Data(response.body))
        return KubernetesAPIError(
            call: call.summary, status: response.status, reason: status?.reason ?? "",
            message: status?.message ?? String(response.text.prefix(300)))
    }
}
