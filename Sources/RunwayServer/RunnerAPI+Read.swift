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
        let desired = self.desired
        router.get("/v1/profiles") { _, _ -> Response in
            guard let desired = desired() else { throw HTTPError(.serviceUnavailable, message: "the manifests have not loaded yet") }
            return try Self.json(ProfileDocument.build(desired: desired, records: try await store.jobRecords(), open: try await store.openAttempts()))
        }
        router.get("/v1/profiles/:name") { _, context -> Response in
            let name = try context.parameters.require("name")
            guard let desired = desired() else { throw HTTPError(.serviceUnavailable, message: "the manifests have not loaded yet") }
            guard let profile = ProfileDocument.build(
                desired: desired, records: try await store.jobRecords(), open: try await store.openAttempts(), name: name, detail: true
            ).first else { throw HTTPError(.notFound, message: "no profile named '\(name)'") }
            return try Self.json(profile)
        }
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
            let number = try Self.integer(request, "attempt")
            let run = try Self.integer(request, "run")
            let offset = try Self.integer(request, "offset") ?? 0
            guard let attempt = try await JobLogs.attempt(job: name, run: run, number: number, store: store) else {
                throw HTTPError(.notFound, message: "no logs for job '\(name)'")
            }
            let size = attempt.logBytes
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            headers[.acceptRanges] = "bytes"
            var status = HTTPResponse.Status.ok
            var window = min(offset, size)..<size
            switch request.headers[.range].map({ JobLogs.byteRange($0, size: size) }) ?? .whole {
            case .whole:
                break
            case .unsatisfiable:
                headers[.contentRange] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            case .range(let asked):
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

extension RunnerAPI {
    /// Query parameter `name` as a whole number of at least 0; nil when absent; 400 when it is
    /// anything else (given twice, not a number, negative).
    static func integer(_ request: Request, _ name: String) throws -> Int? {
        let values = request.uri.queryParameters.getAll(name)
        guard !values.isEmpty else { return nil }
        guard values.count == 1, let value = Int(values[0]), value >= 0 else {
            throw HTTPError(.badRequest, message: "query parameter '\(name)' must be one whole number of at least 0")
        }
        return value
    }
}

/// The logs of a job's attempts, read a window at a time (never a whole log in memory).
public enum JobLogs {
    /// Bytes read per step.
    public static let window = 1 << 20

    /// What a `Range` header asks of `size` bytes: one range (`bytes=A-B`, `A-`, `-N`), one that
    /// lies past the end (416), or nothing a server must honor (another unit, several ranges, bad
    /// syntax: RFC 9110 lets a server ignore it and send the whole).
    enum RangeRequest: Equatable {
        case whole
        case range(Range<Int>)
        case unsatisfiable
    }

    static func byteRange(_ header: String, size: Int) -> RangeRequest {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst("bytes=".count).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2 else { return .whole }
        let (first, last) = (spec[0].trimmingCharacters(in: .whitespaces), spec[1].trimmingCharacters(in: .whitespaces))
        if first.isEmpty {
            guard let suffix = Int(last), suffix >= 0 else { return .whole }
            return suffix > 0 && size > 0 ? .range(max(0, size - suffix)..<size) : .unsatisfiable
        }
        guard let start = Int(first), start >= 0 else { return .whole }
        let end: Int
        if last.isEmpty {
            end = size
        } else {
            guard let inclusive = Int(last), inclusive >= start else { return .whole }
            end = min(inclusive + 1, size)
        }
        return start < size ? .range(start..<end) : .unsatisfiable
    }

    /// Attempt `number` of `job`, or its latest when nil.
    /// The job's attempt `number` of run `run` (each nil: the latest), or nil.
    public static func attempt(job: String, run: Int? = nil, number: Int?, store: any StateStore) async throws -> AttemptRecord? {
        let attempts = try await store.attempts(job: job).filter { run == nil || $0.run == run }
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

