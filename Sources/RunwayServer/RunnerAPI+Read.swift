import Foundation
import Hummingbird
import NIOCore
import RunwayModel
import RunwayStore

extension RunnerAPI {
    /// `GET /v1/jobs`, `GET /v1/jobs/{name}`, `GET /v1/jobs/{name}/logs[?attempt=N]`.
    /// The gate lets only the operator's token through to these.
    func addReadRoutes(to router: Router<APIContext>) {
        let store = self.store
        let logs = self.logs
        router.get("/v1/jobs") { _, _ -> Response in
            return try Self.json(JobStatusDocument.latest(of: try await store.jobRecords()))
        }
        router.get("/v1/jobs/:name") { request, context -> Response in
            let name = try context.parameters.require("name")
            guard let detail = try await JobDetailDocument.load(job: name, from: store) else {
                throw HTTPError(.notFound, message: "no job named '\(name)'")
            }
            return try Self.json(detail)
        }
        router.get("/v1/jobs/:name/logs") { request, context -> Response in
            let name = try context.parameters.require("name")
            let number = request.uri.queryParameters.get("attempt", as: Int.self)
            guard let bytes = try await JobLogs.read(job: name, attempt: number, store: store, files: logs) else {
                throw HTTPError(.notFound, message: "no logs for job '\(name)'")
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

/// The logs of a job's attempt (the latest one when no number is given).
public enum JobLogs {
    public static func read(job: String, attempt number: Int?, store: any StateStore, files: LogFiles) async throws -> [UInt8]? {
        let attempts = try await store.attempts(job: job)
        let chosen = number.map { n in attempts.last { $0.number == n } } ?? attempts.last
        guard let attempt = chosen ?? nil else { return nil }
        if store.keepsLogOutput { return Array(try await store.logOutput(attemptID: attempt.id).prefix(attempt.logBytes)) }
        return files.read(attemptID: attempt.id, length: attempt.logBytes) ?? []
    }
}

/// One job's latest state, as `GET /v1/jobs` and `runway status -o json` show it.
public struct JobStatusDocument: Codable, Sendable {
    public var job: String
    public var generation: String
    public var profile: String
    public var state: String
    public var attempts: Int
    public var lastReason: String?
    public var exitCode: Int32?
    public var createdAt: Date
    public var updatedAt: Date
    public var runningSince: Date?
    public var nextAttemptAt: Date?
    /// When its current attempt began waiting for its runner (state `held`).
    public var heldSince: Date?
    public var lastHeartbeatAt: Date?

    /// The latest generation of every job (by last update), sorted by job name.
    public static func latest(of records: [JobRecord]) -> [JobStatusDocument] {
        Dictionary(grouping: records, by: \.job).compactMap { $0.value.max { $0.updatedAt < $1.updatedAt } }
            .sorted { $0.job < $1.job }.map(JobStatusDocument.init)
    }

    public init(_ record: JobRecord) {
        job = record.job
        generation = record.generation.digest
        profile = record.profile
        state = record.state.rawValue
        attempts = record.attempt
        lastReason = record.lastReason
        exitCode = record.exitCode
        createdAt = record.createdAt
        updatedAt = record.updatedAt
        runningSince = record.runningSince
        nextAttemptAt = record.nextAttemptAt
        heldSince = record.heldSince
        lastHeartbeatAt = record.lastHeartbeatAt
    }
}

/// A job with every generation, attempt and event.
public struct JobDetailDocument: Codable, Sendable {
    public struct Attempt: Codable, Sendable {
        public var id: String
        public var number: Int
        public var generation: String
        public var task: String
        public var state: String
        public var exitCode: Int32?
        public var reason: String?
        public var requestedAt: Date
        public var claimedAt: Date?
        public var completedAt: Date?
        public var stoppedAt: Date?
    }

    public struct Event: Codable, Sendable {
        public var at: Date
        public var generation: String
        public var attempt: Int?
        public var kind: String
        public var message: String
    }

    public var records: [JobStatusDocument]
    public var attempts: [Attempt]
    public var events: [Event]

    public static func load(job: String, from store: any StateStore) async throws -> JobDetailDocument? {
        let records = try await store.jobRecords(job: job)
        guard !records.isEmpty else { return nil }
        let attempts = try await store.attempts(job: job).map {
            Attempt(
                id: $0.id, number: $0.number, generation: $0.generation.digest, task: $0.taskName, state: $0.state.rawValue,
                exitCode: $0.exitCode, reason: $0.reason, requestedAt: $0.requestedAt, claimedAt: $0.claimedAt,
                completedAt: $0.completedAt, stoppedAt: $0.stoppedAt)
        }
        let events = try await store.events(job: job).map {
            Event(at: $0.at, generation: $0.generation.digest, attempt: $0.attempt, kind: $0.kind, message: $0.message)
        }
        return JobDetailDocument(records: records.map(JobStatusDocument.init), attempts: attempts, events: events)
    }
}
