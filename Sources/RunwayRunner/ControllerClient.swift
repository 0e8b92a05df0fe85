import Foundation
import RunwayWire
import RunwayModel
import Synchronization

/// The runner's calls to the controller's runner API. With several controller URLs (replicas),
/// a call that cannot reach one, or is told it has no leader (503), moves the next call to the
/// next URL; a standby's redirect to the leader is followed.
final class ControllerClient: Sendable {
    let baseURLs: [String]
    let token: String
    let http: WireClient
    /// Index in `baseURLs` of the URL calls go to.
    private let current = Mutex(0)

    /// `baseURL`: one URL, or several separated by commas.
    init(baseURL: String, token: String, serverCA: TLSOptions.Source?) {
        self.baseURLs = Self.urls(baseURL)
        self.token = token
        self.http = WireClient(trust: serverCA)
    }

    /// This runner's claim id, sent with every try of its claim.
    let claimID = UUID().uuidString

    func claim() async throws -> ClaimedJob {
        let response = try await post("/v1/runner/claim", body: [], extraHeaders: [(ClaimedJob.claimIDHeader, claimID)])
        return try JSONDecoder().decode(ClaimedJob.self, from: Data(response.body))
    }

    func heartbeat(attemptID: String) async throws {
        _ = try await post("/v1/runner/attempts/\(attemptID)/heartbeat", body: [])
    }

    /// Sends one chunk; returns whether the controller says the output is cut (it drops the rest).
    func appendLog(attemptID: String, seq: Int, stream: LogChunk.Stream, bytes: [UInt8]) async throws -> Bool {
        let response = try await post("/v1/runner/attempts/\(attemptID)/logs?seq=\(seq)&stream=\(stream.rawValue)", body: bytes)
        return response.headers[ClaimedJob.outputCappedHeader.lowercased()] == "true"
    }

    func complete(attemptID: String, report: CompletionReport) async throws {
        _ = try await post("/v1/runner/attempts/\(attemptID)/complete", body: Array(try JSONEncoder().encode(report)),
            contentType: "application/json")
    }

    /// The URLs of a `RUNWAY_SERVER_URL`, without trailing slashes.
    static func urls(_ list: String) -> [String] {
        let urls = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        return urls.isEmpty ? [list] : urls
    }

    /// The next call goes to the next URL (this one did not answer or has no leader).
    private func moveOn(from index: Int) {
        current.withLock { if $0 == index { $0 = (index + 1) % baseURLs.count } }
    }

    private func post(
        _ path: String, body: [UInt8], contentType: String = "application/octet-stream", extraHeaders: [(String, String)] = []
    ) async throws -> WireResponse {
        let index = current.withLock { $0 }
        var url = baseURLs[index] + path
        var response: WireResponse
        var hops = 0
        while true {
            do {
                response = try await http.send(
                    method: "POST", url: url,
                    headers: [("Authorization", "Bearer \(token)"), ("Content-Type", contentType)] + extraHeaders, body: body,
                    timeout: .seconds(15))
            } catch let error as WireError where error.isCertificateProblem {
                throw RunnerError.untrusted("\(error)")
            } catch {
                moveOn(from: index)
                throw RunnerError.transport("\(error)")
            }
            // A standby names the leader: follow (once; a second redirect means no stable leader),
            // and only where the token may go.
            guard response.status == 307 || response.status == 308, hops == 0, let location = response.headers["location"] else { break }
            guard RunnerRedirects.mayFollow(location, from: url, leader: response.headers[ClaimedJob.leaderURLHeader.lowercased()], path: path, configured: baseURLs)
            else {
                moveOn(from: index)
                throw RunnerError.transport("a redirect from \(url) to \(location) was not followed: it is neither one of this runner's controller URLs nor the leader's, or it leaves https")
            }
            url = location
            hops += 1
        }
        if response.status == 503 || response.status == 307 || response.status == 308 { moveOn(from: index) }
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

/// Where a runner's calls may be redirected, with its token.
public enum RunnerRedirects {
    /// Whether a redirect from `url` to `location` may carry the task token: never from https to
    /// plain http; to one of this runner's own controller URLs; or to the leader the standby
    /// names (`Runway-Leader-URL`, as the controllers publish it) for the very same call.
    public static func mayFollow(_ location: String, from url: String, leader: String?, path: String, configured: [String]) -> Bool {
        guard let target = URLComponents(string: location), let source = URLComponents(string: url),
            let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https", target.host?.isEmpty == false
        else { return false }
        if source.scheme?.lowercased() == "https", scheme != "https" { return false }
        func origin(_ url: URLComponents) -> String {
            let scheme = url.scheme?.lowercased() ?? ""
            return "\(scheme)://\(url.host?.lowercased() ?? ""):\(url.port ?? (scheme == "https" ? 443 : 80))"
        }
        if configured.compactMap(URLComponents.init(string:)).contains(where: { origin($0) == origin(target) }) { return true }
        guard let leader, let named = URLComponents(string: leader), origin(named) == origin(target) else { return false }
        return location == (leader.hasSuffix("/") ? String(leader.dropLast()) : leader) + path
    }
}
