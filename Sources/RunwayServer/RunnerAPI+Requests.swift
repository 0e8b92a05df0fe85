import Foundation
import HTTPTypes
import Hummingbird
import RunwayModel
import RunwayStore

extension RunnerAPI {
    /// What a client sends with a rerun or a cancel; every field optional.
    struct RequestBody: Decodable {
        /// Makes the call safe to repeat: the same id is the same request. Else the
        /// `Idempotency-Key` header's; a random one when neither is given.
        var requestId: String?
        var reason: String?
        /// Who asks, as the client knows it (`alice@laptop`); the API adds where the call came from.
        var requestedBy: String?
    }

    /// `POST /v1/jobs/{name}/rerun` and `POST /v1/jobs/{name}/cancel`: the operator's token only
    /// (the gate). Each records a request row and wakes the controller, whose next pass takes
    /// it up; `202 Accepted` with the request, or with the one first recorded under the same id
    /// (and its outcome, once taken up). A different job or kind under a used id is a conflict.
    func addRequestRoutes(to router: Router<APIContext>) {
        let store = self.store
        let desired = self.desired
        let service = self.service
        for kind in [JobRequest.Kind.rerun, .cancel] {
            router.post("/v1/jobs/:name/\(kind.rawValue)") { request, context -> Response in
                let name = try context.parameters.require("name")
                var request = request
                let buffer = try await request.collectBody(upTo: 4 << 10)
                let body: RequestBody
                do {
                    body = buffer.readableBytes == 0 ? RequestBody() : try JSONDecoder().decode(RequestBody.self, from: buffer)
                } catch {
                    throw HTTPError(.badRequest, message: "the body must be a JSON object with optional requestId, reason and requestedBy: \(error)")
                }
                let header = request.headers[HTTPField.Name("Idempotency-Key")!]
                for given in [body.requestId, header].compactMap({ $0 }) where !JobRequest.isValidID(given) {
                    throw HTTPError(.badRequest, message: "a request id (requestId, Idempotency-Key) is 1-128 printable ASCII characters without spaces")
                }
                let id = body.requestId ?? header ?? UUID().uuidString.lowercased()
                guard (body.reason?.unicodeScalars.count ?? 0) <= 1024, (body.requestedBy?.unicodeScalars.count ?? 0) <= 256 else {
                    throw HTTPError(.badRequest, message: "reason is at most 1024 characters, requestedBy at most 256")
                }
                guard let desired = desired() else { throw HTTPError(.serviceUnavailable, message: "the manifests have not loaded yet") }
                guard desired.jobs[name] != nil else { throw HTTPError(.notFound, message: "no job named '\(name)' in the manifests") }
                let from = context.remoteAddress.map { $0.ipAddress ?? "\($0)" } ?? "unknown address"
                let who = (body.requestedBy.flatMap { $0.isEmpty ? nil : "\($0) " } ?? "") + "via the API from \(from)"
                let asked = JobRequest(id: id, job: name, kind: kind, reason: body.reason, requestedBy: who, requestedAt: Date())
                let recorded = try await store.request(asked)
                guard recorded.job == asked.job, recorded.kind == asked.kind else {
                    throw HTTPError(.conflict, message: "request id '\(id)' was used for a \(recorded.kind.rawValue) of '\(recorded.job)'")
                }
                service.onChange()
                return try Self.json(recorded, status: .accepted)
            }
        }
    }
}
