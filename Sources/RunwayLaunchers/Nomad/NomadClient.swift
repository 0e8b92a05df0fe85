import Foundation
import RunwayModel
import RunwayHTTP
import Synchronization

/// An answer other than 2xx: Nomad's errors are plain text.
struct NomadAPIError: Error, CustomStringConvertible {
    var call: String
    var status: Int
    var message: String

    var description: String { "\(call): HTTP \(status): \(message)" }

    /// Nomad reports a job that fails validation, and a register refused by `EnforceIndex`, as
    /// 500s: those are answers, not outages.
    var isRetryable: Bool {
        guard status == 429 || (500...599).contains(status) else { return false }
        return !(message.contains("error occurred") || message.contains("errors occurred") || message.contains("Enforcing job modify index"))
    }
}

/// Where a profile's Nomad is and how to reach it: address, TLS, token.
struct NomadAccess: Sendable, Hashable {
    var address: String
    var caCert: String?
    var clientCert: String?
    var clientKey: String?
    var tlsServerName: String?
    var token: String?

    /// The profile's settings over the `NOMAD_*` variables, as the nomad CLI reads them. The
    /// controller's own token and client certificate go only to its own address or a trusted
    /// one: an address a manifest chose gets only what the manifest names.
    init(_ settings: NomadSettings, environment: [String: String], trust: TrustPolicy) throws {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        address = settings.address ?? variable("NOMAD_ADDR").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? "http://127.0.0.1:4646"
        let own = settings.address.map { Self.sendsOwnCredentials(to: $0, environment: environment, trust: trust) } ?? true
        if let reason = Self.clientKeyRefusal(settings, environment: environment, trust: trust) {
            throw SecretResolver.Failure(description: "spec.config.clientKey: \(reason)")
        }
        caCert = settings.caCert ?? variable("NOMAD_CACERT")
        clientCert = settings.clientCert ?? (own ? variable("NOMAD_CLIENT_CERT") : nil)
        clientKey = settings.clientKey ?? (own ? variable("NOMAD_CLIENT_KEY") : nil)
        tlsServerName = settings.tlsServerName ?? variable("NOMAD_TLS_SERVER_NAME")
        if let reference = settings.token {
            token = try SecretResolver.resolve(reference, name: "token", trust: trust)
        } else {
            token = own ? variable("NOMAD_TOKEN") : nil
        }
    }

    /// Why a manifest's `clientKey` may not be read (it is a credential file like a `fromFile`
    /// secret); nil when it may, or when it is the controller's own `NOMAD_CLIENT_KEY`.
    static func clientKeyRefusal(_ settings: NomadSettings, environment: [String: String], trust: TrustPolicy) -> String? {
        guard let key = settings.clientKey, key != environment["NOMAD_CLIENT_KEY"] else { return nil }
        return trust.refusal(.fromFile(key))
    }

    /// Whether the controller's own credentials may go to `address`, which a manifest named.
    static func sendsOwnCredentials(to address: String, environment: [String: String], trust: TrustPolicy) -> Bool {
        trust.trusts(endpoint: address, configured: [environment["NOMAD_ADDR"]])
    }
}

/// Talks to one Nomad cluster: the ACL token on every request, TLS (with a server name other
/// than the address's when asked), retries with backoff for 429 and 5xx and unreachable servers.
final class NomadClient: CountingClient {
    let access: NomadAccess
    private let http: HTTPClient
    private let baseURL: String
    private let requests = Atomic<Int>(0)
    private let retry = APIRetry(attempts: 10)

    var requestCount: Int { requests.load(ordering: .relaxed) }

    init(access: NomadAccess) {
        self.access = access
        var configuration = HTTPClient.Configuration()
        configuration.tls = TLSOptions(
            certificateAuthority: access.caCert.map { .fileOrPEM($0) }, clientCertificate: access.clientCert.map { .fileOrPEM($0) },
            clientKey: access.clientKey.map { .fileOrPEM($0) })
        var base = access.address
        if let name = access.tlsServerName, let url = URLComponents(string: access.address), let host = url.host {
            // Verify the certificate for `name` while connecting to the address itself.
            let port = url.port ?? (url.scheme == "https" ? 443 : 80)
            configuration.connectTo = ["\(name):\(port):\(host):\(port)"]
            base = "\(url.scheme ?? "https")://\(name):\(port)"
        }
        self.baseURL = base
        self.http = HTTPClient(configuration: configuration)
    }

    /// One call in `region` and `namespace` (both always sent); the answer's body and headers.
    func send(_ method: String, _ path: String, region: String?, namespace: String, query: [(String, String)] = [], body: [UInt8]? = nil)
        async throws -> HTTPResponse
    {
        var parameters = query
        parameters.append(("namespace", namespace))
        if let region { parameters.append(("region", region)) }
        var components = URLComponents()
        components.queryItems = parameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        let url = baseURL + path + "?" + (components.percentEncodedQuery ?? "")
        var headers: [(String, String)] = []
        if let token = access.token { headers.append(("X-Nomad-Token", token)) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let call = "\(method) \(path) (region \(region ?? "default"), namespace \(namespace))"
        let request = HTTPRequest(method: method, url: url, headers: headers, body: body)
        let response = try await retry.send(counting: requests, retryable: { Self.error(call, $0).isRetryable }) {
            try await http.send(request)
        }
        guard (200..<300).contains(response.status) else { throw Self.error(call, response) }
        return response
    }

    static func error(_ call: String, _ response: HTTPResponse) -> NomadAPIError {
        NomadAPIError(call: call, status: response.status, message: response.text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
