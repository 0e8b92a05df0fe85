import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RunwayModel

/// The request context of the controller's API: Hummingbird's, plus the caller's address (for
/// the refusal log).
public struct APIContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// When the request arrived (its head was read): before the gate, which may wait on the store
    /// to find the leader, and before the handler. A runner's report is recorded with this time.
    public let receivedAt: Date

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        receivedAt = Date()
    }
}

/// What a path is, for the gate: who may call it and how large its body may be.
enum APIPath: Equatable {
    /// `/healthz`, `/readyz`, `/openapi.json`: anyone; no body.
    case open
    /// `/metrics`: anyone, or the operator (``TrustPolicy/metricsRequireToken``); no body.
    case metrics
    /// `POST /v1/runner/claim`: a live task token.
    case claim
    /// `POST /v1/runner/attempts/{id}/{heartbeat|logs|complete}`: that attempt's own token.
    case attempt(id: String, call: String)
    /// Everything else (the read API, and paths that do not exist): the operator's token.
    case operatorOnly

    init(_ path: String) {
        switch path {
        case "/healthz", "/readyz", "/openapi.json": self = .open
        case "/metrics": self = .metrics
        case "/v1/runner/claim": self = .claim
        default:
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 6, parts[0].isEmpty, parts[1] == "v1", parts[2] == "runner", parts[3] == "attempts", !parts[4].isEmpty,
                ["heartbeat", "logs", "complete"].contains(parts[5])
            {
                self = .attempt(id: String(parts[4]), call: String(parts[5]))
            } else {
                self = .operatorOnly
            }
        }
    }

    /// The methods the path takes (the router's routes); nil for a path that has none.
    func methods(_ path: String) -> [HTTPRequest.Method]? {
        switch self {
        case .claim, .attempt: return [.post]
        case .open, .metrics: return [.get]
        case .operatorOnly:
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count >= 3, parts[0].isEmpty, parts[1] == "v1", parts.dropFirst(3).allSatisfy({ !$0.isEmpty }) else { return nil }
            if Self.isRequest(parts) { return [.post] }
            let isJobs = parts[2] == "jobs" && parts.count <= 5 && (parts.count < 5 || parts[4] == "logs")
            let isProfiles = parts[2] == "profiles" && parts.count <= 4
            return isJobs || isProfiles ? [.get] : nil
        }
    }

    /// `/v1/jobs/{name}/rerun` or `/v1/jobs/{name}/cancel`: an operator's request.
    static func isRequest(_ parts: [Substring]) -> Bool {
        parts.count == 5 && parts[2] == "jobs" && (parts[4] == "rerun" || parts[4] == "cancel")
    }

    /// The largest body the path takes, in bytes (413 beyond it): a log chunk's limit for log
    /// chunks, 64 KiB for a completion report, 4 KiB for a claim or a heartbeat (which carry
    /// none) and for an operator's rerun or cancel, nothing for the rest.
    func bodyLimit(maxLogChunk: Int, path: String) -> Int {
        switch self {
        case .attempt(_, "logs"): maxLogChunk
        case .attempt(_, "complete"): 64 << 10
        case .claim, .attempt: 4 << 10
        case .operatorOnly: Self.isRequest(path.split(separator: "/", omittingEmptySubsequences: false)) ? 4 << 10 : 0
        case .open, .metrics: 0
        }
    }
}

/// The API's one gate, run before any route: it decides who is let in from the headers alone,
/// before a body is read and before the store is touched. Runner calls go to the leader (a
/// standby redirects them), and carry a task token this controller knows (``TaskTokens``) —
/// for an attempt's calls, that attempt's own; the read API and every other path need the
/// operator's token (``TrustPolicy``). Bodies are held to their path's limit.
struct APIGate: RouterMiddleware {
    typealias Context = APIContext
    let policy: TrustPolicy
    let tokens: TaskTokens
    let route: @Sendable () async -> RunnerRoute
    let refusals: RefusalLog
    let maxLogChunk: Int

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        let path = APIPath(request.uri.path)
        let bearer = Self.bearer(request)
        switch path {
        case .open:
            break
        case .metrics:
            if policy.metricsRequireToken, !policy.isOperator(bearer) { return refuse("metrics need the API token", context) }
        case .operatorOnly:
            guard policy.isOperator(bearer) else { return refuse("the API needs its bearer token", context) }
        case .claim, .attempt:
            switch await route() {
            case .serve: break
            case .redirect(let leader): return Self.redirect(request, to: leader)
            case .unavailable(let reason): return Self.unavailable(reason)
            }
            guard let bearer else { return refuse("missing bearer token", context) }
            switch tokens.verdict(token: bearer) {
            case .notLoaded:
                return Self.unavailable("this controller has not loaded its runners' tokens yet")
            case .unknown:
                return refuse("unknown task token", context)
            case .known(let attemptID):
                if case .attempt(let id, _) = path, id != attemptID {
                    return refuse("token does not belong to attempt \(id)", context)
                }
            }
        }
        if let methods = path.methods(request.uri.path), !methods.contains(request.method) {
            var headers = HTTPFields()
            headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
            return Self.text(.methodNotAllowed, "\(request.method.rawValue) is not a method of \(request.uri.path)", headers: headers)
        }
        let limit = path.bodyLimit(maxLogChunk: maxLogChunk, path: request.uri.path)
        if let declared = request.headers[.contentLength].flatMap(Int.init) {
            guard declared <= limit else { return Self.tooLarge(limit) }
            return try await next(request, context)
        }
        // No declared length (chunked): read at most the limit before anything else does.
        var request = request
        do {
            _ = try await request.collectBody(upTo: limit)
        } catch {
            return Self.tooLarge(limit)
        }
        return try await next(request, context)
    }

    func refuse(_ reason: String, _ context: APIContext) -> Response {
        refusals.refused(reason, from: context.remoteAddress)
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer"
        return Self.text(.unauthorized, reason, headers: headers)
    }

    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst("Bearer ".count))
    }

    static func redirect(_ request: Request, to leader: String) -> Response {
        var headers = HTTPFields()
        let query = request.uri.query.map { "?" + $0 } ?? ""
        let base = leader.hasSuffix("/") ? String(leader.dropLast()) : leader
        headers[.location] = base + request.uri.path + query
        headers[HTTPField.Name(ClaimedJob.leaderURLHeader)!] = base
        return Response(status: .temporaryRedirect, headers: headers)
    }

    static func unavailable(_ reason: String) -> Response {
        var headers = HTTPFields()
        headers[.retryAfter] = "1"
        return text(.serviceUnavailable, reason, headers: headers)
    }

    static func tooLarge(_ limit: Int) -> Response {
        text(.contentTooLarge, limit == 0 ? "this path takes no body" : "the body exceeds this path's limit of \(limit) bytes")
    }

    static func text(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}
