import Foundation
import RunwayModel
import RunwayStore

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
    /// Which run of the generation (1 for its first).
    public var run: Int
    /// Why this run exists (a rerun, a tick, a dependency that ran again); nil for a first run.
    public var origin: String?
    /// The schedule tick the run is for; for a run still waiting, the time its next tick is after.
    public var scheduledFor: Date?
    public var scheduledAfter: Date?
    /// Its attempts, events and logs were removed by the history limit (the record stays).
    public var compacted: Bool

    /// The current run of every job (``JobRecord/current(of:)``), sorted by job name.
    public static func latest(of records: [JobRecord]) -> [JobStatusDocument] {
        Dictionary(grouping: records, by: \.job).compactMap { JobRecord.current(of: $0.value) }.sorted { $0.job < $1.job }
            .map(JobStatusDocument.init)
    }

    /// `blocked` for a run a failed dependency holds back, `scheduled` for one waiting for its
    /// tick, else the record's state.
    public init(_ record: JobRecord) {
        job = record.job
        generation = record.generation.digest
        profile = record.profile
        state = record.isBlocked ? "blocked" : record.awaitsTick ? "scheduled" : record.state.rawValue
        run = record.run
        origin = record.origin
        scheduledFor = record.scheduledFor
        scheduledAfter = record.scheduledAfter
        compacted = record.compacted
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
        public var run: Int
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
        public var run: Int
        public var attempt: Int?
        public var kind: String
        public var message: String
    }

    /// Every run of every generation, the latest updated first.
    public var records: [JobStatusDocument]
    public var attempts: [Attempt]
    public var events: [Event]
    /// Operators' reruns and cancels of the job, oldest first.
    public var requests: [JobRequest]

    public static func load(job: String, from store: any StateStore) async throws -> JobDetailDocument? {
        let records = try await store.jobRecords(job: job)
        guard !records.isEmpty else { return nil }
        let attempts = try await store.attempts(job: job).map {
            Attempt(
                id: $0.id, number: $0.number, generation: $0.generation.digest, run: $0.run, task: $0.taskName, state: $0.state.rawValue,
                exitCode: $0.exitCode, reason: $0.reason, requestedAt: $0.requestedAt, claimedAt: $0.claimedAt,
                completedAt: $0.completedAt, stoppedAt: $0.stoppedAt)
        }
        let events = try await store.events(job: job).map {
            Event(at: $0.at, generation: $0.generation.digest, run: $0.run, attempt: $0.attempt, kind: $0.kind, message: $0.message)
        }
        return JobDetailDocument(
            records: records.map(JobStatusDocument.init), attempts: attempts, events: events, requests: try await store.requests(job: job))
    }
}
