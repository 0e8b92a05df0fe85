import Foundation
import RunwayAWS
import RunwayHTTP
import Synchronization

/// The ECS JSON 1.1 API: one signed POST per action (`X-Amz-Target:
/// AmazonEC2ContainerServiceV20141113.<Action>`), throttling and server errors retried with
/// exponential backoff and full jitter, AWS error codes turned into ``ECSError``.
final class ECSClient: CountingClient {
    struct RetryPolicy: Sendable {
        /// Tries per call, the first included. Default 6.
        var attempts = 6
        /// First backoff; it doubles each time, capped at `maximum`. Defaults 100 ms and 5 s.
        var base: Duration = .milliseconds(100)
        var maximum: Duration = .seconds(5)
    }

    static let targetPrefix = "AmazonEC2ContainerServiceV20141113."
    /// Error codes that mean "slow down" or "try again": retried.
    static let retryableCodes: Set<String> = [
        "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "ServerException",
        "ServiceUnavailable", "InternalFailure",
    ]

    let endpoint: String
    let signer: SigV4Signer
    let credentials: AWSCredentialChain
    let http: HTTPClient
    let retry: RetryPolicy
    /// HTTP requests sent, retries included.
    let requests = Atomic<Int>(0)

    var requestCount: Int { requests.load(ordering: .relaxed) }

    init(endpoint: String, region: String, credentials: AWSCredentialChain, http: HTTPClient = HTTPClient(), retry: RetryPolicy = RetryPolicy()) {
        self.endpoint = endpoint.hasSuffix("/") ? endpoint : endpoint + "/"
        self.signer = SigV4Signer(region: region, service: "ecs")
        self.credentials = credentials
        self.http = http
        self.retry = retry
    }

    /// Calls `action` with `body`; decodes the answer.
    func call<Response: Decodable>(_ action: String, _ body: some Encodable, as type: Response.Type) async throws -> Response {
        let bytes = Array(try JSONEncoder().encode(body))
        var delay = retry.base
        for attempt in 1...retry.attempts {
            let request = HTTPRequest(
                method: "POST", url: endpoint,
                headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", Self.targetPrefix + action)], body: bytes)
            let response: HTTPResponse
            requests.add(1, ordering: .relaxed)
            do {
                response = try await http.send(signer.sign(request, credentials: try await credentials.credentials(), date: Date()))
            } catch let error as HTTPError where error.isUnreachable && attempt < retry.attempts {
                try await Task.sleep(for: jittered(delay))
                delay = min(delay * 2, retry.maximum)
                continue
            } catch let error as HTTPError {
                throw ECSError(code: "Unreachable", message: "\(error)", action: action, status: 0)
            }
            if response.status == 200 {
                do {
                    return try JSONDecoder().decode(Response.self, from: Data(response.body))
                } catch {
                    throw ECSError(code: "BadResponse", message: "cannot read the answer: \(error)", action: action, status: 200)
                }
            }
            let failure = ECSError(response: response, action: action)
            guard failure.isRetryable, attempt < retry.attempts else { throw failure }
            try await Task.sleep(for: jittered(delay))
            delay = min(delay * 2, retry.maximum)
        }
        throw ECSError(code: "RetriesExhausted", message: "gave up after \(retry.attempts) tries", action: action, status: 0)
    }

    /// Full jitter: a uniformly random wait up to `delay`.
    private func jittered(_ delay: Duration) -> Duration {
        .milliseconds(Int64(Double.random(in: 0...1) * Double(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)))
    }
}

/// An ECS API error: its AWS code (`ClusterNotFoundException`…), message, and the action.
struct ECSError: Error, CustomStringConvertible {
    var code: String
    var message: String
    var action: String
    var status: Int

    init(code: String, message: String, action: String, status: Int) {
        self.code = code
        self.message = message
        self.action = action
        self.status = status
    }

    /// From an error answer: `{"__type": "…#ClusterNotFoundException", "message": "…"}`.
    init(response: HTTPResponse, action: String) {
        struct Body: Decodable {
            var __type: String?
            var message: String?
            var Message: String?
        }
        let body = try? JSONDecoder().decode(Body.self, from: Data(response.body))
        let type = body?.__type ?? response.headers["x-amzn-errortype"] ?? "HTTP\(response.status)"
        code = String(type.split(separator: "#").last ?? Substring(type)).split(separator: ":").first.map(String.init) ?? type
        message = body?.message ?? body?.Message ?? response.text.prefix(300).description
        self.action = action
        status = response.status
    }

    var isRetryable: Bool { status >= 500 || status == 429 || ECSClient.retryableCodes.contains(code) }

    var description: String { "ECS \(action): \(code): \(message)" }
}
