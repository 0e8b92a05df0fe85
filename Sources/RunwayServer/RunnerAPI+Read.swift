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
            guard let attempt = try await JobLogs.attempt(job: name, number: number, store: store) else {
                throw HTTPError(.notFound, message: "no logs for job '\(name)'")
            }
            let size = attempt.logBytes
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            headers[.acceptRanges] = "bytes"
            var status = HTTPResponse.Status.ok
            var window = min(max(request.uri.queryParameters.get("offset", as: Int.self) ?? 0, 0), size)..<size
            if let range = request.headers[.range] {
                guard let asked = JobLogs.byteRange(range, size: size) else {
                    headers[.contentRange] = "bytes */\(size)"
                    return Response(status: .rangeNotSatisfiable, headers: headers)
                }
                window = asked
                status = .partialContent
                headers[.contentRange] = "bytes \(asked.lowerBound)-\(asked.upperBound - 1)/\(size)"
            }
            headers[.contentLength] = "\(window.count)"
            let range = window
            return Response(status: status, headers: headers, body: ResponseBody(contentLength: range.count) { writer in
                try await JobLogs.stream(attempt, range, store: store, files: logs) { try await writer.write(ByteBuffer(bytes: $0)) }
                try await writer.finish(nil)
            })
        }
    }
}

/// The logs of a job's attempts, read a window at a time (never a whole log in memory).
public enum JobLogs {
    /// Bytes read per step.
    public static let window = 1 << 20

    /// A `Range: bytes=…` header of one range (`A-B`, `A-`, `-N`) within `size` bytes, as the
    /// offsets it covers; nil when it is not one or covers nothing.
    static func byteRange(_ header: String, size: Int) -> Range<Int>? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        let (first, last) = (spec[0].trimmingCharacters(in: .whitespaces), spec[1].trimmingCharacters(in: .whitespaces))
        if first.isEmpty {
            guard let suffix = Int(last), suffix > 0, size > 0 else { return nil }
            return max(0, size - suffix)..<size
        }
        guard let start = Int(first), start >= 0, start < size else { return nil }
        if last.isEmpty { return start..<size }
        guard let end = Int(last), end >= start else { return nil }
        return start..<min(end + 1, size)
    }

    /// Attempt `number` of `job`, or its latest when nil.
    public static func attempt(job: String, number: Int?, store: any StateStore) async throws -> AttemptRecord? {
        let attempts = try await store.attempts(job: job)
        guard let number else { return attempts.last }
        return attempts.last { $0.number == number }
    }

    /// Hands `send` bytes `range` of the attempt's log (clamped to what is indexed), in order, a
    /// window at a time.
    public static func stream(
        _ attempt: AttemptRecord, _ range: Range<Int>, store: any StateStore, files: LogFiles, _ send: ([UInt8]) async throws -> Void
    ) async throws {
        var offset = range.lowerBound
        let end = min(range.upperBound, attempt.logBytes)
        while offset < end {
            let step = offset..<min(offset + window, end)
            let bytes =
                store.keepsLogOutput
                ? try await store.logOutput(attemptID: attempt.id, range: step) : files.read(attemptID: attempt.id, range: step) ?? []
            guard !bytes.isEmpty else { return }  // the file ends early (lost with its disk): what there is
            try await send(bytes)
            offset += bytes.count
        }
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
