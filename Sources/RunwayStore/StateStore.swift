import Foundation
import RunwayModel

/// Everything the controller remembers: job records per generation, attempts with their token
/// hashes, the event trail of each job, and the log index. Every write is one transaction, so a
/// crash never leaves a record half-written.
public protocol StateStore: Sendable {
    /// Every job record, all generations.
    func jobRecords() async throws -> [JobRecord]
    /// The records of one job, newest first.
    func jobRecords(job: String) async throws -> [JobRecord]
    /// The attempts of one job, oldest first.
    func attempts(job: String) async throws -> [AttemptRecord]
    /// Attempts that are not completed or failed.
    func openAttempts() async throws -> [AttemptRecord]
    func attempt(id: String) async throws -> AttemptRecord?
    /// The event trail of one job, oldest first.
    func events(job: String) async throws -> [JobEvent]
    func logChunks(attemptID: String) async throws -> [LogChunk]

    /// Writes records, attempts, events and log chunks in one transaction.
    func apply(_ change: StoreChange) async throws

    /// Reads the attempt found by `lookup` and its job record, lets `decide` say what changes,
    /// and writes that, all in one transaction (so two claims of one token cannot both win).
    func modify<T: Sendable>(
        _ lookup: AttemptLookup, _ decide: @Sendable (AttemptRecord?, JobRecord?) throws -> (StoreChange, T)
    ) async throws -> T
}

/// How `modify` finds its attempt and job record.
public enum AttemptLookup: Sendable, Hashable {
    /// The attempt with this id, and its job record.
    case id(String)
    /// The attempt whose token has this hash, and its job record.
    case tokenHash(String)
    /// The job record of this generation, and its current attempt (if it has one).
    case job(JobKey)
}

/// A set of writes applied together.
public struct StoreChange: Sendable {
    public var records: [JobRecord]
    public var attempts: [AttemptRecord]
    public var events: [JobEvent]
    public var logChunks: [LogChunk]

    public init(records: [JobRecord] = [], attempts: [AttemptRecord] = [], events: [JobEvent] = [], logChunks: [LogChunk] = []) {
        self.records = records
        self.attempts = attempts
        self.events = events
        self.logChunks = logChunks
    }

    public var isEmpty: Bool { records.isEmpty && attempts.isEmpty && events.isEmpty && logChunks.isEmpty }
}

/// Store failures, with the operation that failed and its cause.
public struct StoreError: Error, CustomStringConvertible {
    public var operation: String
    public var cause: any Error

    public init(operation: String, cause: any Error) {
        self.operation = operation
        self.cause = cause
    }

    public var description: String { "state store: \(operation) failed: \(cause)" }
}
