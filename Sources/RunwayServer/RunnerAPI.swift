import Foundation
import Hummingbird
import Logging
import NIOCore
import RunwayModel
import RunwayStore

/// The controller's HTTP API: the runner endpoints, the read API and health.
public struct RunnerAPI: Sendable {
    public let service: RunnerService
    let store: any StateStore
    let logs: LogFiles
    let readiness: @Sendable () -> (ready: Bool, detail: String)
    /// The Prometheus text of `/metrics`.
    let metricsText: @Sendable () -> String
    /// When set, the read endpoints (`/v1/jobs…`) require `Authorization: Bearer <this>`.
    let readToken: String?
    /// Who serves runner calls: this controller, or (a standby) the leader.
    let route: @Sendable () async -> RunnerRoute

    public init(
        service: RunnerService, store: any StateStore, logs: LogFiles,
        readiness: @escaping @Sendable () -> (ready: Bool, detail: String),
        metricsText: @escaping @Sendable () -> String = { "" }, readToken: String? = nil,
        route: @escaping @Sendable () async -> RunnerRoute = { .serve }
    ) {
        self.route = route
        self.metricsText = metricsText
        self.readToken = readToken
        self.service = service
        self.store = store
        self.logs = logs
        self.readiness = readiness
    }

    /// The router with every route of DESIGN.md's "Runner API".
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let service = self.service
        let maxChunk = service.configuration.maxLogChunkBytes
        let route = self.route
        router.post("/v1/runner/claim") { request, _ -> Response in
            try await Self.mapped(service.logger, request, route) {
                let claimed = try await service.claim(token: try Self.bearer(request), claimID: try Self.claimID(request))
                return try Self.json(claimed)
            }
        }
        router.post("/v1/runner/attempts/:id/heartbeat") { request, context -> Response in
            try await Self.mapped(service.logger, request, route) {
                try await service.heartbeat(attemptID: try context.parameters.require("id"), token: try Self.bearer(request))
                return Response(status: .noContent)
            }
        }
        router.post("/v1/runner/attempts/:id/logs") { request, context -> Response in
            var request = request
            return try await Self.mapped(service.logger, request, route) {
                guard let seq = request.uri.queryParameters.get("seq", as: Int.self) else {
                    throw RunnerAPIError.badRequest("query parameter 'seq' (integer) is required")
                }
                let stream = LogChunk.Stream(rawValue: request.uri.queryParameters.get("stream") ?? "stdout") ?? .stdout
                let body: ByteBuffer
                do {
                    body = try await request.collectBody(upTo: maxChunk)
                } catch {
                    throw RunnerAPIError.tooLarge("log chunk exceeds \(maxChunk) bytes")
                }
                try await service.appendLog(
                    attemptID: try context.parameters.require("id"), token: try Self.bearer(request), seq: seq, stream: stream,
                    bytes: Array(buffer: body))
                return Response(status: .noContent)
            }
        }
        router.post("/v1/runner/attempts/:id/complete") { request, context -> Response in
            var request = request
            return try await Self.mapped(service.logger, request, route) {
                let body = try await request.collectBody(upTo: 64 << 10)
                guard let report = try? JSONDecoder().decode(CompletionReport.self, from: Data(buffer: body)) else {
                    throw RunnerAPIError.badRequest("body must be {\"exitCode\": N, \"reason\": \"…\"}")
                }
                try await service.complete(attemptID: try context.parameters.require("id"), token: try Self.bearer(request), report: report)
                return Response(status: .noContent)
            }
        }
        addReadRoutes(to: router)
        let readiness = self.readiness
        router.get("/healthz") { _, _ in "ok\n" }
        let metricsText = self.metricsText
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
        router.get("/readyz") { _, _ -> Response in
            let (ready, detail) = readiness()
            return Response(status: ready ? .ok : .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: detail + "\n")))
        }
        return router
    }

    /// Refuses a read request without the API token, when one is configured.
    static func authorizeRead(_ request: Request, token: String?) throws {
        guard let token else { return }
        let given = Array(((try? bearer(request)) ?? "").utf8)
        let expected = Array(token.utf8)
        // Compared in time independent of where the first difference is.
        var difference = given.count ^ expected.count
        for index in 0..<max(given.count, expected.count) {
            difference |= Int((index < given.count ? given[index] : 0) ^ (index < expected.count ? expected[index] : 0))
        }
        guard difference == 0 else { throw HTTPError(.unauthorized, message: "the read API needs its bearer token") }
    }

    /// The runner's claim id, when it sent one: at most 128 printable characters.
    static func claimID(_ request: Request) throws -> String? {
        let name = ClaimedJob.claimIDHeader.lowercased()
        guard let value = request.headers.first(where: { $0.name.canonicalName == name })?.value else { return nil }
        guard value.count <= 128, value.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 0x21 }) else {
            throw RunnerAPIError.badRequest("header \(ClaimedJob.claimIDHeader) must be at most 128 printable ASCII characters")
        }
        return value
    }

    static func bearer(_ request: Request) throws -> String {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw RunnerAPIError.unauthorized("missing bearer token")
        }
        return String(header.dropFirst("Bearer ".count))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// Runs a runner call's handler where this controller serves runners; a standby answers
    /// with the leader's address or a 503 instead (see ``RunnerRouting``).
    static func mapped(
        _ logger: Logger, _ request: Request, _ route: @Sendable () async -> RunnerRoute, _ body: () async throws -> Response
    ) async throws -> Response {
        switch await route() {
        case .serve:
            return try await mapped(logger, body)
        case .redirect(let leader):
            var headers = HTTPFields()
            let query = request.uri.query.map { "?" + $0 } ?? ""
            headers[.location] = (leader.hasSuffix("/") ? String(leader.dropLast()) : leader) + request.uri.path + query
            return Response(status: .temporaryRedirect, headers: headers)
        case .unavailable(let reason):
            var headers = HTTPFields()
            headers[.retryAfter] = "1"
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .serviceUnavailable, headers: headers, body: .init(byteBuffer: ByteBuffer(string: reason + "\n")))
        }
    }

    /// Runs a handler, turning refusals into their status codes, with a log line for each.
    static func mapped(_ logger: Logger, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as RunnerAPIError {
            let status: HTTPResponse.Status =
                switch error {
                case .unauthorized: .unauthorized
                case .conflict: .conflict
                case .tooLarge: .contentTooLarge
                case .badRequest: .badRequest
                case .unavailable: .serviceUnavailable
                }
            logger.warning("runner request refused", metadata: ["http.status": "\(status.code)", "reason": "\(error)"])
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "\(error)\n")))
        }
    }
}
