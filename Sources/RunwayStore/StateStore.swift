import Foundation
import PostgresNIO
import RunwayModel

/// Told of every committed change, with the job record the change was decided on (for
/// `modify`; nil for `apply`). Runs after the transaction, so it sees only what was written.
public typealias CommitObserver = @Sendable (_ change: StoreChange, _ record: JobRecord?) -> Void

/// Everything the controller remembers: job records per generation, attempts with their token
/// hashes, the event trail of each job, and the log index. Every write is one transaction, so a
/// crash never leaves a record half-written.
public protocol StateStore: Sendable {
    /// Every job record, all generations.
    func jobRecords() async throws -> [JobRecord]
    /// The job records written since `cursor` (every one when nil), by anyone, and the cursor
    /// to ask from next time. It may return some records again that did not change; it never
    /// leaves out one that did.
    func jobRecords(changedSince cursor: Int64?) async throws -> (records: [JobRecord], cursor: Int64)
    /// The records of one job, newest first.
    func jobRecords(job: String) async throws -> [JobRecord]
    /// The attempts of one job, oldest first.
    func attempts(job: String) async throws -> [AttemptRecord]
    /// Attempts that are not completed or failed.
    func openAttempts() async throws -> [AttemptRecord]
    func attempt(id: String) async throws -> AttemptRecord?
    /// Every token hash that names an attempt still open or completed at `completedSince` or
    /// later (current tokens and kept ones, ``StoreChange/tokenAliases``), hash → attempt id: the
    /// tokens a runner may still call with.
    func liveTokenHashes(completedSince: Date) async throws -> [String: String]
    /// The event trail of one job, oldest first.
    func events(job: String) async throws -> [JobEvent]
    func logChunks(attemptID: String) async throws -> [LogChunk]

    /// Whether the store keeps the attempts' output with the log index (PostgreSQL: every
    /// replica reads it, and a failover loses none) rather than in the state directory's files
    /// (SQLite, one host). When it does, written chunks carry their bytes.
    var keepsLogOutput: Bool { get }

    /// Whether every controller of this store runs on one host (SQLite in a state directory):
    /// then a lease holder whose process is gone from this host holds nothing.
    var isSingleHost: Bool { get }
    /// Bytes `range` of one attempt's output (offsets into it), when the store keeps it; empty
    /// otherwise. Readers page through a long log a window at a time.
    func logOutput(attemptID: String, range: Range<Int>) async throws -> [UInt8]

    /// Writes records, attempts, events and log chunks in one transaction.
    func apply(_ change: StoreChange) async throws

    /// Records an operator's request for the controller's next pass. The same id again records
    /// nothing and returns the request as first recorded (with its outcome once taken up).
    func request(_ request: JobRequest) async throws -> JobRequest
    /// Requests no controller has taken up yet, oldest first.
    func openRequests() async throws -> [JobRequest]
    /// The requests about one job, oldest first.
    func requests(job: String) async throws -> [JobRequest]
    /// Removes the attempts, their events, log index and output of finished runs, and marks
    /// their records compacted: the records themselves stay, so a compacted run never runs again.
    func compact(_ runs: [JobKey]) async throws

    /// Takes the lease `name` for `holder` until `now + duration`, or renews it if `holder` has it.
    /// A new holder gets the next fencing token. Returns nil when someone else holds it.
    /// `now` nil (what controllers pass): the store's own clock judges expiry (PostgreSQL's, so
    /// replicas whose clocks disagree agree on who leads), and the lease returned says when it
    /// expires on the caller's clock, which reads `localNow`. Tests pass a `now` to play out time.
    func acquireLease(_ name: String, holder: String, duration: Duration, now: Date?, localNow: Date) async throws -> Lease?

    /// Gives the lease up (a clean shutdown hands over at once instead of after expiry).
    func releaseLease(_ name: String, holder: String) async throws

    /// The lease as it stands, whoever holds it, its expiry on the caller's clock (which reads
    /// `localNow`).
    func lease(_ name: String, localNow: Date) async throws -> Lease?

    /// Small facts the controller publishes for `runway status` (manifest health, leader), by key.
    func controllerFacts() async throws -> [String: String]

    /// Sets (or, with nil, removes) published facts.
    func publish(_ facts: [String: String?]) async throws

    /// Writes the latest heartbeat of each attempt (id → when), in one transaction: to the
    /// attempt and its job record, each only while running, and never backwards in time.
    func recordHeartbeats(_ beats: [String: Date]) async throws

    /// Hands back memory the store keeps only to go faster (caches, idle connections), soon;
    /// the controller calls it as it goes idle.
    func releaseMemory()

    /// Reads the attempt found by `lookup` and its job record, lets `decide` say what changes,
    /// and writes that, all in one transaction (so two claims of one token cannot both win).
    func modify<T: Sendable>(
        _ lookup: AttemptLookup, _ decide: @escaping @Sendable (AttemptRecord?, JobRecord?) throws -> (StoreChange, T)
    ) async throws -> T
}

/// The heartbeat writes both stores run, with `placeholder(n)` their way of naming argument n
/// (1: the time, 2: the attempt id): the attempt's, while it runs; its job record's, while that
/// runs this attempt; neither ever backwards.
enum HeartbeatSQL {
    static func attempt(_ placeholder: (Int) -> String) -> String {
        "UPDATE attempt SET last_heartbeat_at = \(placeholder(1)) WHERE id = \(placeholder(2)) AND state = 'running' "
            + "AND (last_heartbeat_at IS NULL OR last_heartbeat_at < \(placeholder(1)))"
    }

    static func record(_ placeholder: (Int) -> String) -> String {
        "UPDATE job SET last_heartbeat_at = \(placeholder(1)) WHERE state = 'running' "
            + "AND (last_heartbeat_at IS NULL OR last_heartbeat_at < \(placeholder(1))) "
            + "AND (job, generation, run, attempt) IN (SELECT job, generation, run, number FROM attempt WHERE id = \(placeholder(2)))"
    }
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
    /// Requests taken up (their `handledAt` and `outcome` written).
    public var requests: [JobRequest] = []
    /// More token hashes that claim an attempt (hash → attempt id), kept for good: a resumed
    /// attempt's new task gets a new token, and the token of a task launched before stays valid.
    public var tokenAliases: [String: String] = [:]
    /// When set, the writes happen only if this lease is still held with this token, checked in
    /// the same transaction: a deposed leader's late start is refused (``StoreError/fenced``).
    public var fence: Lease?

    public init(
        records: [JobRecord] = [], attempts: [AttemptRecord] = [], events: [JobEvent] = [], logChunks: [LogChunk] = [],
        fence: Lease? = nil
    ) {
        self.records = records
        self.attempts = attempts
        self.events = events
        self.logChunks = logChunks
        self.fence = fence
    }

    public var isEmpty: Bool {
        records.isEmpty && attempts.isEmpty && events.isEmpty && logChunks.isEmpty && tokenAliases.isEmpty && requests.isEmpty
    }
}

/// The leader lease: who holds it, until when, and its fencing token (one more for each new
/// holder, never reused).
public struct Lease: Sendable, Hashable {
    public var name: String
    public var holder: String
    public var token: Int64
    public var expiresAt: Date

    public init(name: String, holder: String, token: Int64, expiresAt: Date) {
        self.name = name
        self.holder = holder
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// Store failures, with the operation that failed and its cause.
public struct StoreError: Error, CustomStringConvertible {
    public var operation: String
    public var cause: any Error

    public init(operation: String, cause: any Error) {
        self.operation = operation
        self.cause = cause
    }

    public var description: String { "state store: \(operation) failed: \(Self.reason(cause))" }

    /// What went wrong, in words: PostgreSQL's own message, or the network's or TLS's, where
    /// the error's description would hide it.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return reason(underlying) }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

/// A write refused because its lease was lost: another controller leads now.
public struct FencedError: Error, CustomStringConvertible {
    public var lease: Lease
    public var current: Lease?

    public init(lease: Lease, current: Lease?) {
        self.lease = lease
        self.current = current
    }

    public var description: String {
        "fenced: lease \(lease.name) token \(lease.token) of \(lease.holder) is no longer current"
            + (current.map { " (now \($0.holder), token \($0.token))" } ?? "")
    }
}

extension StateStore {
    public func releaseMemory() {}

    /// Takes or renews the lease at `now` (nil: the store's clock judges), seen on this host's clock.
    public func acquireLease(_ name: String, holder: String, duration: Duration, now: Date? = nil) async throws -> Lease? {
        try await acquireLease(name, holder: holder, duration: duration, now: now, localNow: Date())
    }

    /// The lease as it stands, seen on this host's clock.
    public func lease(_ name: String) async throws -> Lease? { try await lease(name, localNow: Date()) }
}

extension Lease {
    /// The same lease with its expiry moved to the caller's clock (which reads `localNow`): what
    /// the server's clock says is left, from there. Checks of it on that clock are then free of
    /// clock skew.
    func onLocalClock(serverNow: Date, localNow: Date) -> Lease {
        var lease = self
        lease.expiresAt = localNow.addingTimeInterval(expiresAt.timeIntervalSince(serverNow))
        return lease
    }
}
