import Foundation
import GRDB
import RunwayModel

/// Database rows, mapped to and from the model's types. Columns are snake_case.
struct JobRow: Codable, Sendable, FetchableRecord, PersistableRecord {
    // Dates as seconds since the reference date, the Double a `Date` holds: a record read back
    // equals the record written, which compare-and-set depends on.
    static func databaseDateEncodingStrategy(for _: String) -> DatabaseDateEncodingStrategy { .timeIntervalSinceReferenceDate }
    static func databaseDateDecodingStrategy(for _: String) -> DatabaseDateDecodingStrategy { .timeIntervalSinceReferenceDate }
    static let databaseTableName = "job"
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    var job: String
    var generation: String
    var run: Int
    var profile: String
    var state: String
    var attempt: Int
    var lastReason: String?
    var exitCode: Int32?
    var createdAt: Date
    var updatedAt: Date
    var heldSince: Date?
    var runningSince: Date?
    var nextAttemptAt: Date?
    var lastHeartbeatAt: Date?
    var origin: String?
    var rerunToken: String?
    var upstream: String?
    var scheduledAfter: Date?
    var scheduledFor: Date?
    var compacted: Bool

    init(_ record: JobRecord) {
        job = record.job
        generation = record.generation.digest
        run = record.run
        origin = record.origin
        rerunToken = record.rerunToken
        upstream = record.upstream
        scheduledAfter = record.scheduledAfter
        scheduledFor = record.scheduledFor
        compacted = record.compacted
        profile = record.profile
        state = record.state.rawValue
        attempt = record.attempt
        lastReason = record.lastReason
        exitCode = record.exitCode
        createdAt = record.createdAt
        updatedAt = record.updatedAt
        heldSince = record.heldSince
        runningSince = record.runningSince
        nextAttemptAt = record.nextAttemptAt
        lastHeartbeatAt = record.lastHeartbeatAt
    }

    var model: JobRecord {
        var record = JobRecord(
            job: job, generation: Generation(digest: generation), profile: profile,
            state: JobRecord.State(rawValue: state) ?? .failed, attempt: attempt, lastReason: lastReason, exitCode: exitCode,
            createdAt: createdAt, updatedAt: updatedAt, heldSince: heldSince, runningSince: runningSince,
            nextAttemptAt: nextAttemptAt, lastHeartbeatAt: lastHeartbeatAt, run: run)
        record.origin = origin
        record.rerunToken = rerunToken
        record.upstream = upstream
        record.scheduledAfter = scheduledAfter
        record.scheduledFor = scheduledFor
        record.compacted = compacted
        return record
    }
}

struct AttemptRow: Codable, Sendable, FetchableRecord, PersistableRecord {
    // Dates as seconds since the reference date, the Double a `Date` holds: a record read back
    // equals the record written, which compare-and-set depends on.
    static func databaseDateEncodingStrategy(for _: String) -> DatabaseDateEncodingStrategy { .timeIntervalSinceReferenceDate }
    static func databaseDateDecodingStrategy(for _: String) -> DatabaseDateDecodingStrategy { .timeIntervalSinceReferenceDate }
    static let databaseTableName = "attempt"
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    var id: String
    var job: String
    var generation: String
    var run: Int
    var number: Int
    var profile: String
    var plugin: String
    var retries: Int
    var taskName: String
    var taskId: String?
    var tokenHash: String
    var state: String
    var reason: String?
    var exitCode: Int32?
    var requestedAt: Date
    var startedAt: Date?
    var claimedAt: Date?
    var claimId: String?
    var lastHeartbeatAt: Date?
    var completedAt: Date?
    var stopRequestedAt: Date?
    var stoppedAt: Date?
    var nextLogSeq: Int
    var logBytes: Int

    init(_ attempt: AttemptRecord) {
        id = attempt.id
        job = attempt.job
        generation = attempt.generation.digest
        run = attempt.run
        number = attempt.number
        profile = attempt.profile
        plugin = attempt.plugin
        retries = attempt.retries
        taskName = attempt.taskName
        taskId = attempt.taskID
        tokenHash = attempt.tokenHash
        state = attempt.state.rawValue
        reason = attempt.reason
        exitCode = attempt.exitCode
        requestedAt = attempt.requestedAt
        startedAt = attempt.startedAt
        claimedAt = attempt.claimedAt
        claimId = attempt.claimID
        lastHeartbeatAt = attempt.lastHeartbeatAt
        completedAt = attempt.completedAt
        stopRequestedAt = attempt.stopRequestedAt
        stoppedAt = attempt.stoppedAt
        nextLogSeq = attempt.nextLogSeq
        logBytes = attempt.logBytes
    }

    var model: AttemptRecord {
        var attempt = AttemptRecord(
            job: job, generation: Generation(digest: generation), run: run, number: number, profile: profile, plugin: plugin,
            retries: retries, taskName: taskName, tokenHash: tokenHash, requestedAt: requestedAt)
        attempt.taskID = taskId
        attempt.state = AttemptRecord.State(rawValue: state) ?? .failed
        attempt.reason = reason
        attempt.exitCode = exitCode
        attempt.startedAt = startedAt
        attempt.claimedAt = claimedAt
        attempt.claimID = claimId
        attempt.lastHeartbeatAt = lastHeartbeatAt
        attempt.completedAt = completedAt
        attempt.stopRequestedAt = stopRequestedAt
        attempt.stoppedAt = stoppedAt
        attempt.nextLogSeq = nextLogSeq
        attempt.logBytes = logBytes
        return attempt
    }
}

struct EventRow: Codable, Sendable, FetchableRecord, PersistableRecord {
    // Dates as seconds since the reference date, the Double a `Date` holds: a record read back
    // equals the record written, which compare-and-set depends on.
    static func databaseDateEncodingStrategy(for _: String) -> DatabaseDateEncodingStrategy { .timeIntervalSinceReferenceDate }
    static func databaseDateDecodingStrategy(for _: String) -> DatabaseDateDecodingStrategy { .timeIntervalSinceReferenceDate }
    static let databaseTableName = "event"

    var id: Int64?
    var job: String
    var generation: String
    var run: Int
    var attempt: Int?
    var at: Date
    var kind: String
    var message: String

    init(_ event: JobEvent) {
        job = event.job
        generation = event.generation.digest
        run = event.run
        attempt = event.attempt
        at = event.at
        kind = event.kind
        message = event.message
    }

    var model: JobEvent {
        JobEvent(job: job, generation: Generation(digest: generation), run: run, attempt: attempt, at: at, kind: kind, message: message)
    }
}

struct LogChunkRow: Codable, Sendable, FetchableRecord, PersistableRecord {
    // Dates as seconds since the reference date, the Double a `Date` holds: a record read back
    // equals the record written, which compare-and-set depends on.
    static func databaseDateEncodingStrategy(for _: String) -> DatabaseDateEncodingStrategy { .timeIntervalSinceReferenceDate }
    static func databaseDateDecodingStrategy(for _: String) -> DatabaseDateDecodingStrategy { .timeIntervalSinceReferenceDate }
    static let databaseTableName = "log_chunk"
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    var attemptId: String
    var seq: Int
    var stream: String
    var offset: Int
    var length: Int
    var at: Date

    init(_ chunk: LogChunk) {
        attemptId = chunk.attemptID
        seq = chunk.seq
        stream = chunk.stream.rawValue
        offset = chunk.offset
        length = chunk.length
        at = chunk.at
    }

    var model: LogChunk {
        LogChunk(attemptID: attemptId, seq: seq, stream: LogChunk.Stream(rawValue: stream) ?? .stdout, offset: offset, length: length, at: at)
    }
}

struct RequestRow: Codable, Sendable, FetchableRecord, PersistableRecord {
    static func databaseDateEncodingStrategy(for _: String) -> DatabaseDateEncodingStrategy { .timeIntervalSinceReferenceDate }
    static func databaseDateDecodingStrategy(for _: String) -> DatabaseDateDecodingStrategy { .timeIntervalSinceReferenceDate }
    static let databaseTableName = "job_request"
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    var id: String
    var job: String
    var kind: String
    var reason: String?
    var requestedBy: String
    var requestedAt: Date
    var handledAt: Date?
    var outcome: String?

    init(_ request: JobRequest) {
        id = request.id
        job = request.job
        kind = request.kind.rawValue
        reason = request.reason
        requestedBy = request.requestedBy
        requestedAt = request.requestedAt
        handledAt = request.handledAt
        outcome = request.outcome
    }

    var model: JobRequest {
        var request = JobRequest(
            id: id, job: job, kind: JobRequest.Kind(rawValue: kind) ?? .rerun, reason: reason, requestedBy: requestedBy,
            requestedAt: requestedAt)
        request.handledAt = handledAt
        request.outcome = outcome
        return request
    }
}
