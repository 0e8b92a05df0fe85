import Foundation
import HTTPTypes
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
    /// Who may call what (see ``APIGate``).
    let policy: TrustPolicy
    /// Who serves runner calls: this controller, or (a standby) the leader.
    let route: @Sendable () async -> RunnerRoute
    /// The desired state in force (the last valid manifests); nil until they loaded.
    let desired: @Sendable () -> DesiredState?

    public init(
        service: RunnerService, store: any StateStore, logs: LogFiles, policy: TrustPolicy,
        readiness: @escaping @Sendable () -> (ready: Bool, detail: String),
        metricsText: @escaping @Sendable () -> String = { "" },
        route: @escaping @Sendable () async -> RunnerRoute = { .serve },
        desired: @escaping @Sendable () -> DesiredState? = { nil }
    ) {
        self.desired = desired
        self.route = route
        self.metricsText = metricsText
        self.policy = policy
        self.service = service
        self.store = store
        self.logs = logs
        self.readiness = readiness
    }

    /// The router with every route of DESIGN.md's "Runner API".
    public func router() -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        let service = self.service
        let maxChunk = service.configuration.maxLogChunkBytes
        router.add(middleware: APIGate(
            policy: policy, tokens: service.holding.tokens, route: route, refusals: RefusalLog(logger: service.logger),
            maxLogChunk: maxChunk))
        router.post("/v1/runner/claim") { request, _ -> Response in
            try await Self.mapped(service.logger) {
                let claimed = try await service.claim(token: try Self.bearer(request), claimID: try Self.claimID(request))
                return try Self.json(claimed)
            }
        }
        router.post("/v1/runner/attempts/:id/heartbeat") { request, context -> Response in
            try await Self.mapped(service.logger) {
                try await service.heartbeat(attemptID: try context.parameters.require("id"), token: try Self.bearer(request))
                return Response(status: .noContent)
            }
        }
        router.post("/v1/runner/attempts/:id/logs") { request, context -> Response in
            var request = request
            return try await Self.mapped(service.logger) {
                guard let seq = try? Self.integer(request, "seq") else {
                    throw RunnerAPIError.badRequest("query parameter 'seq' (one whole number of at least 0) is required")
                }
                let streams = request.uri.queryParameters.getAll("stream")
                guard streams.count <= 1, let stream = LogChunk.Stream(rawValue: streams.first ?? "stdout") else {
                    throw RunnerAPIError.badRequest("query parameter 'stream' must be stdout or stderr")
                }
                let body: ByteBuffer
                do {
                    body = try await request.collectBody(upTo: maxChunk)
                } catch {
                    throw RunnerAPIError.tooLarge("log chunk exceeds \(maxChunk) bytes")
                }
                let capped = try await service.appendLog(
                    attemptID: try context.parameters.require("id"), token: try Self.bearer(request), seq: seq, stream: stream,
                    bytes: Array(buffer: body))
                var headers = HTTPFields()
                if capped { headers[HTTPField.Name(ClaimedJob.outputCappedHeader)!] = "true" }  // the runner may stop sending
                return Response(status: .noContent, headers: headers)
            }
        }
        router.post("/v1/runner/attempts/:id/complete") { request, context -> Response in
            var request = request
            return try await Self.mapped(service.logger) {
                let body = try await request.collectBody(upTo: 64 << 10)
                guard let report = try? JSONDecoder().decode(CompletionReport.self, from: Data(buffer: body)) else {
                    throw RunnerAPIError.badRequest("body must be {\"exitCode\": N, \"reason\": \"…\"}")
                }
                try await service.complete(
                    attemptID: try context.parameters.require("id"), token: try Self.bearer(request), report: report, now: context.receivedAt)
                return Response(status: .noContent)
            }
        }
        addReadRoutes(to: router)
        addRequestRoutes(to: router)
        let readiness = self.readiness
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/openapi.json") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        let metricsText = self.metricsText
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metricsText())))
        }
        router.get("/readyz") { _, _ -> Response in
            let (ready, detail) = readiness()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: ready ? .ok : .serviceUnavailable, headers: headers, body: .init(byteBuffer: ByteBuffer(string: detail + "\n")))
        }
        return router
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
        guard let token = APIGate.bearer(request) else { throw RunnerAPIError.unauthorized("missing bearer token") }
        return token
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
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
            return APIGate.text(status, "\(error)")
        }
    }
}
