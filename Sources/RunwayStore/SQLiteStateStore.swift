import Foundation
import GRDB
import RunwayModel

/// The embedded default: SQLite (WAL) in the state directory, through GRDB.
public final class SQLiteStateStore: StateStore {
    private let database: DatabasePool
    private let observer: CommitObserver?
    /// The state directory: the database, and the attempts' log files under `logs/`.
    private let directory: String

    /// Opens (creating it and its folder if needed) `runway.sqlite` in `directory` and migrates it.
    /// `observer` hears of every committed change (the controller logs its events).
    public init(directory: String, observer: CommitObserver? = nil) throws {
        self.observer = observer
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            database = try DatabasePool(path: directory + "/runway.sqlite", configuration: configuration)
            try Schema.migrator.migrate(database)
        } catch {
            throw StoreError(operation: "open \(directory)/runway.sqlite", cause: error)
        }
    }

    /// Closes the idle reader connections (and their page caches) and shrinks the writer's.
    public func releaseMemory() {
        database.releaseMemoryEventually()
    }

    /// The schema versions applied, oldest first (for tests and `status`).
    public func appliedMigrations() throws -> [String] {
        try database.read { try Schema.migrator.appliedMigrations($0) }
    }

    public func jobRecords() async throws -> [JobRecord] {
        try await read("read job records") { db in try JobRow.fetchAll(db).map(\.model) }
    }

    /// Writes are serial here, so the revision counter is the order they committed in.
    public func jobRecords(changedSince cursor: Int64?) async throws -> (records: [JobRecord], cursor: Int64) {
        try await read("read changed job records") { db in
            let latest = try Int64.fetchOne(db, sql: "SELECT value FROM record_revision") ?? 0
            let rows = try JobRow.filter(Column("revision") > (cursor ?? -1)).fetchAll(db)
            return (rows.map(\.model), latest)
        }
    }

    public func jobRecords(job: String) async throws -> [JobRecord] {
        try await read("read records of \(job)") { db in
            try JobRow.filter(Column("job") == job).order(Column("updated_at").desc).fetchAll(db).map(\.model)
        }
    }

    public func attempts(job: String) async throws -> [AttemptRecord] {
        try await read("read attempts of \(job)") { db in
            try AttemptRow.filter(Column("job") == job).order(Column("requested_at"), Column("number")).fetchAll(db).map(\.model)
        }
    }

    public func openAttempts() async throws -> [AttemptRecord] {
        try await read("read open attempts") { db in
            try AttemptRow.filter(![AttemptRecord.State.completed.rawValue, AttemptRecord.State.failed.rawValue].contains(Column("state")))
                .fetchAll(db).map(\.model)
        }
    }

    public func attempt(id: String) async throws -> AttemptRecord? {
        try await read("read attempt \(id)") { db in try AttemptRow.fetchOne(db, key: id)?.model }
    }

    public func liveTokenHashes(completedSince: Date) async throws -> [String: String] {
        try await read("read live tokens") { db in
            let live = "a.state NOT IN ('completed', 'failed') OR (a.state = 'completed' AND a.completed_at >= ?)"
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT a.token_hash, a.id FROM attempt a WHERE \(live)
                    UNION ALL SELECT t.token_hash, t.attempt_id FROM attempt_token t JOIN attempt a ON a.id = t.attempt_id WHERE \(live)
                    """, arguments: [completedSince, completedSince])
            return Dictionary(rows.map { ($0[0] as String, $0[1] as String) }, uniquingKeysWith: { first, _ in first })
        }
    }

    public func events(job: String) async throws -> [JobEvent] {
        try await read("read events of \(job)") { db in
            try EventRow.filter(Column("job") == job).order(Column("id")).fetchAll(db).map(\.model)
        }
    }

    public func logChunks(attemptID: String) async throws -> [LogChunk] {
        try await read("read log index of \(attemptID)") { db in
            try LogChunkRow.filter(Column("attempt_id") == attemptID).order(Column("seq")).fetchAll(db).map(\.model)
        }
    }

    public var isSingleHost: Bool { true }

    /// Output goes to `<state-dir>/logs`, beside the database.
    public var keepsLogOutput: Bool { false }

    public func logOutput(attemptID: String, range: Range<Int>) async throws -> [UInt8] { [] }

    public func apply(_ change: StoreChange) async throws {
        guard !change.isEmpty else { return }
        do {
            try await database.write { db in try Self.write(change, in: db) }
            observer?(change, nil)
        } catch let error as FencedError {
            throw error
        } catch {
            throw StoreError(operation: "write", cause: error)
        }
    }

    public func modify<T: Sendable>(
        _ lookup: AttemptLookup, _ decide: @escaping @Sendable (AttemptRecord?, JobRecord?) throws -> (StoreChange, T)
    ) async throws -> T {
        let (change, record, result) = try await database.write { db in
            let attempt: AttemptRecord?
            let record: JobRecord?
            switch lookup {
            case .id(let id):
                attempt = try AttemptRow.fetchOne(db, where: "id = ?", [id])?.model
                record = try attempt.flatMap { try Self.record($0.key, in: db) }
            case .tokenHash(let hash):
                attempt = try AttemptRow.fetchOne(db, where: Self.byTokenHash, [hash, hash])?.model
                record = try attempt.flatMap { try Self.record($0.key, in: db) }
            case .job(let key):
                record = try Self.record(key, in: db)
                attempt = try record.flatMap {
                    try AttemptRow.fetchOne(db, where: "id = ?", [AttemptRecord.id(of: $0)])?.model
                }
            }
            let (change, result) = try decide(attempt, record)
            try Self.write(change, in: db)
            return (change, record, result)
        }
        if !change.isEmpty { observer?(change, record) }
        return result
    }

    public func recordHeartbeats(_ beats: [String: Date]) async throws {
        guard !beats.isEmpty else { return }
        try await database.write { db in
            for (id, at) in beats {
                let arguments: StatementArguments = [at.timeIntervalSinceReferenceDate, id]
                try db.execute(sql: HeartbeatSQL.attempt { "?\($0)" }, arguments: arguments)
                guard db.changesCount > 0 else { continue }
                try db.execute(sql: HeartbeatSQL.record { "?\($0)" }, arguments: arguments)
            }
        }
    }

    /// A SQLite store lives on one host: its clock is this host's.
    public func acquireLease(_ name: String, holder: String, duration: Duration, now given: Date?, localNow: Date) async throws -> Lease? {
        let now = given ?? Date()
        let expiresAt = now.addingTimeInterval(duration.timeInterval)
        return try await database.write { db in
            let current = try Self.lease(name, in: db)
            if let current, current.holder != holder, current.expiresAt > now { return nil }
            let token = current.map { $0.holder == holder && $0.expiresAt > now ? $0.token : $0.token + 1 } ?? 1
            let lease = Lease(name: name, holder: holder, token: token, expiresAt: expiresAt)
            try db.execute(
                sql: "INSERT INTO lease (name, holder, token, expires_at) VALUES (?, ?, ?, ?) "
                    + "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at",
                arguments: [name, holder, token, expiresAt.timeIntervalSinceReferenceDate])
            return given == nil ? lease.onLocalClock(serverNow: now, localNow: localNow) : lease
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await database.write { db in
            // Keep the row (its token must keep growing); just let it expire now.
            try db.execute(sql: "UPDATE lease SET expires_at = 0 WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }

    public func lease(_ name: String, localNow: Date) async throws -> Lease? {
        let hostNow = Date()
        return try await database.read { db in try Self.lease(name, in: db) }?.onLocalClock(serverNow: hostNow, localNow: localNow)
    }

    public func controllerFacts() async throws -> [String: String] {
        try await read("read controller facts") { db in
            Dictionary(
                try Row.fetchAll(db, sql: "SELECT key, value FROM controller_fact").map { ($0["key"] as String, $0["value"] as String) },
                uniquingKeysWith: { a, _ in a })
        }
    }

    public func publish(_ facts: [String: String?]) async throws {
        try await database.write { db in
            for (key, value) in facts {
                if let value {
                    try db.execute(
                        sql: "INSERT INTO controller_fact (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        arguments: [key, value])
                } else {
                    try db.execute(sql: "DELETE FROM controller_fact WHERE key = ?", arguments: [key])
                }
            }
        }
    }

    private static func lease(_ name: String, in db: Database) throws -> Lease? {
        guard let row = try Row.fetchOne(db, sql: "SELECT holder, token, expires_at FROM lease WHERE name = ?", arguments: [name])
        else { return nil }
        return Lease(
            name: name, holder: row["holder"], token: row["token"],
            expiresAt: Date(timeIntervalSinceReferenceDate: row["expires_at"]))
    }

    private static func record(_ key: JobKey, in db: Database) throws -> JobRecord? {
        try JobRow.fetchOne(db, where: "job = ? AND generation = ? AND run = ?", [key.job, key.generation.digest, key.run])?.model
    }

    private static func write(_ change: StoreChange, in db: Database) throws {
        if let fence = change.fence {
            let current = try lease(fence.name, in: db)
            guard let current, current.holder == fence.holder, current.token == fence.token, current.expiresAt > Date() else {
                throw FencedError(lease: fence, current: current)
            }
        }
        for record in change.records { try JobRow(record).upsert(in: db) }
        for attempt in change.attempts { try AttemptRow(attempt).upsert(in: db) }
        for event in change.events { try EventRow(event).append(in: db) }
        for chunk in change.logChunks { try LogChunkRow(chunk).insert(db, onConflict: .ignore) }
        for request in change.requests { try RequestRow(request).save(db) }
        for (hash, attemptID) in change.tokenAliases {
            try db.execute(sql: "INSERT OR IGNORE INTO attempt_token (token_hash, attempt_id) VALUES (?, ?)", arguments: [hash, attemptID])
        }
    }

    public func request(_ request: JobRequest) async throws -> JobRequest {
        do {
            return try await database.write { db in
                if let existing = try RequestRow.fetchOne(db, key: request.id) { return existing.model }
                try RequestRow(request).insert(db)
                return request
            }
        } catch {
            throw StoreError(operation: "record request \(request.id)", cause: error)
        }
    }

    public func openRequests() async throws -> [JobRequest] {
        try await read("read open requests") { db in
            try RequestRow.filter(Column("handled_at") == nil).order(Column("requested_at"), Column("id")).fetchAll(db).map(\.model)
        }
    }

    public func requests(job: String) async throws -> [JobRequest] {
        try await read("read requests of \(job)") { db in
            try RequestRow.filter(Column("job") == job).order(Column("requested_at"), Column("id")).fetchAll(db).map(\.model)
        }
    }

    public func compact(_ runs: [JobKey]) async throws {
        guard !runs.isEmpty else { return }
        let removed: [String]
        do {
            removed = try await database.write { db in
                var removed: [String] = []
                for run in runs {
                    let keys: [any DatabaseValueConvertible] = [run.job, run.generation.digest, run.run]
                    let ids = try String.fetchAll(db, sql: "SELECT id FROM attempt WHERE job = ? AND generation = ? AND run = ?", arguments: StatementArguments(keys))
                    for id in ids {
                        try db.execute(sql: "DELETE FROM log_chunk WHERE attempt_id = ?", arguments: [id])
                        try db.execute(sql: "DELETE FROM attempt_token WHERE attempt_id = ?", arguments: [id])
                    }
                    try db.execute(sql: "DELETE FROM attempt WHERE job = ? AND generation = ? AND run = ?", arguments: StatementArguments(keys))
                    try db.execute(sql: "DELETE FROM event WHERE job = ? AND generation = ? AND run = ?", arguments: StatementArguments(keys))
                    try db.execute(sql: "UPDATE job SET compacted = 1 WHERE job = ? AND generation = ? AND run = ?", arguments: StatementArguments(keys))
                    removed += ids
                }
                return removed
            }
        } catch {
            throw StoreError(operation: "compact \(runs.count) runs", cause: error)
        }
        for id in removed { try? FileManager.default.removeItem(atPath: PathNames.attemptLog(in: directory + "/logs", attemptID: id)) }
    }

    /// The attempt a token hash claims: its current token, or one it kept (``StoreChange/tokenAliases``).
    static let byTokenHash = "token_hash = ? OR id = (SELECT attempt_id FROM attempt_token WHERE token_hash = ?)"

    private func read<T: Sendable>(_ operation: String, _ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await database.read(body)
        } catch {
            throw StoreError(operation: operation, cause: error)
        }
    }
}
