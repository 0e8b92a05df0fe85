import Foundation
import RunwayHTTP
import RunwayModel

/// The runner's calls to the controller's runner API.
struct ControllerClient: Sendable {
    let baseURL: String
    let token: String
    let http: HTTPClient

    init(baseURL: String, token: String, serverCA: TLSOptions.Source?) {
        self.baseURL = baseURL
        self.token = token
        var configuration = HTTPClient.Configuration()
        configuration.tls.certificateAuthority = serverCA
        self.http = HTTPClient(configuration: configuration)
    }

    func claim() async throws -> ClaimedJob {
        let response = try await post("/v1/runner/claim", body: [])
        return try JSONDecoder().decode(ClaimedJob.self, from: Data(response.body))
    }

    func heartbeat(attemptID: String) async throws {
        _ = try await post("/v1/runner/attempts/\(attemptID)/heartbeat", body: [])
    }

    func appendLog(attemptID: String, seq: Int, stream: LogChunk.Stream, bytes: [UInt8]) async throws {
        _ = try await post("/v1/runner/attempts/\(attemptID)/logs?seq=\(seq)&stream=\(stream.rawValue)", body: bytes)
    }

    func complete(attemptID: String, report: CompletionReport) async throws {
        _ = try await post("/v1/runner/attempts/\(attemptID)/complete", body: Array(try JSONEncoder().encode(report)),
            contentType: "application/json")
    }

    private func post(_ path: String, body: [UInt8], contentType: String = "application/octet-stream") async throws -> HTTPResponse {
        let request = HTTPRequest(
            method: "POST", url: baseURL + path,
            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", contentType)], body: body,
            timeout: .seconds(15))
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch let error as HTTPError where error.isCertificateProblem {
            throw RunnerError.untrusted("\(error)")
        } catch {
            throw RunnerError.transport("\(error)")
        }
        switch response.status {
        case 200..<300: return response
        case 401, 403, 404, 409, 413: throw RunnerError.refused(status: response.status, message: response.text)
        default: throw RunnerError.server(status: response.status, message: response.text)
        }
    }
}

/// Why the runner could not do its part.
enum RunnerError: Error, CustomStringConvertible {
    case missingEnvironment(String)
    case transport(String)
    /// TLS with the controller failed for a reason retrying cannot fix (see `RUNWAY_SERVER_CA`).
    case untrusted(String)
    case refused(status: Int, message: String)
    case server(status: Int, message: String)
    case unreachable(String)
    case spawn(String)

    /// Worth retrying: the controller may come back; a refusal will not change.
    var isRetryable: Bool {
        switch self {
        case .transport, .server: true
        case .missingEnvironment, .untrusted, .refused, .unreachable, .spawn: false
        }
    }

    var description: String {
        switch self {
        case .missingEnvironment(let name): "\(name) is not set"
        case .transport(let message): message
        case .untrusted(let message): "\(message) (is RUNWAY_SERVER_CA the CA of the controller's certificate?)"
        case .refused(let status, let message), .server(let status, let message):
            "HTTP \(status): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .unreachable(let url): "controller at \(url) did not answer"
        case .spawn(let message): message
        }
    }
}
