import Foundation
import GRDB

// SQLite's side of the job and attempt rows, the ones every attempt writes several times: columns
// read by position (the selection names them, in order) and written by name, without Codable —
// GRDB's Codable path turned every property name into its snake_case column on every row, most
// of a write's cost — and the per-attempt statements prepared once per connection and kept. The
// PostgreSQL store maps the same rows through Codable (JSON), as before.

/// A row type whose columns are listed once, in the order it reads and writes them.
protocol SQLiteColumns: FetchableRecord, PersistableRecord {
    /// Column names, in the order of ``values`` and of the positions `init(row:)` reads.
    static var columnNames: [String] { get }
    /// The primary key's columns (an upsert's conflict target).
    static var keyColumns: [String] { get }
    /// Each column's value, dates as seconds since the reference date (what `Date` holds).
    var values: [(any DatabaseValueConvertible)?] { get }
    /// The statements' texts, made once per type (from ``upsertText`` and ``columnList``), not per row.
    static var upsertSQL: String { get }
    static var selectSQL: String { get }
}

extension SQLiteColumns {
    static var selection: [any SQLSelectable] { columnNames.map { Column($0) } }

    func encode(to container: inout PersistenceContainer) {
        for (name, value) in zip(Self.columnNames, values) { container[name] = value }
    }

    /// Inserts the row, or updates every column of the row with its key.
    func upsert(in db: Database) throws {
        try db.cachedStatement(sql: Self.upsertSQL).execute(arguments: StatementArguments(values))
    }

    static var columnList: String { columnNames.joined(separator: ", ") }

    static var upsertText: String {
        let updated = columnNames.filter { !keyColumns.contains($0) }.map { "\($0) = excluded.\($0)" }
        return "INSERT INTO \(databaseTableName) (\(columnList)) "
            + "VALUES (\(columnNames.map { _ in "?" }.joined(separator: ", "))) "
            + "ON CONFLICT (\(keyColumns.joined(separator: ", "))) DO UPDATE SET \(updated.joined(separator: ", "))"
    }

    /// The row matching `condition` (with `?` for `arguments`), through a kept statement.
    static func fetchOne(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> Self? {
        try fetchOne(db.cachedStatement(sql: selectSQL + " WHERE " + condition), arguments: arguments)
    }
}

extension Optional where Wrapped == Date {
    fileprivate var seconds: Double? { self?.timeIntervalSinceReferenceDate }
}

private func date(_ row: Row, _ index: Int) -> Date? {
    (row[index] as Double?).map(Date.init(timeIntervalSinceReferenceDate:))
}

extension JobRow: SQLiteColumns {
    static let columnNames = [
        "job", "generation", "run", "profile", "state", "attempt", "last_reason", "exit_code", "created_at", "updated_at",
        "held_since", "running_since", "next_attempt_at", "last_heartbeat_at", "origin", "rerun_token", "upstream",
        "scheduled_after", "scheduled_for", "compacted",
    ]
    static let keyColumns = ["job", "generation", "run"]
    static var databaseSelection: [any SQLSelectable] { selection }
    static let upsertSQL = upsertText
    static let selectSQL = "SELECT \(columnList) FROM \(databaseTableName)"

    init(row: Row) {
        job = row[0]
        generation = row[1]
        run = row[2]
        profile = row[3]
        state = row[4]
        attempt = row[5]
        lastReason = row[6]
        exitCode = row[7]
        createdAt = Date(timeIntervalSinceReferenceDate: row[8])
        updatedAt = Date(timeIntervalSinceReferenceDate: row[9])
        heldSince = date(row, 10)
        runningSince = date(row, 11)
        nextAttemptAt = date(row, 12)
        lastHeartbeatAt = date(row, 13)
        origin = row[14]
        rerunToken = row[15]
        upstream = row[16]
        scheduledAfter = date(row, 17)
        scheduledFor = date(row, 18)
        compacted = row[19]
    }

    var values: [(any DatabaseValueConvertible)?] {
        [
            job, generation, run, profile, state, attempt, lastReason, exitCode, createdAt.timeIntervalSinceReferenceDate,
            updatedAt.timeIntervalSinceReferenceDate, heldSince.seconds, runningSince.seconds, nextAttemptAt.seconds,
            lastHeartbeatAt.seconds, origin, rerunToken, upstream, scheduledAfter.seconds, scheduledFor.seconds, compacted,
        ]
    }
}

extension AttemptRow: SQLiteColumns {
    static let columnNames = [
        "id", "job", "generation", "run", "number", "profile", "plugin", "retries", "task_name", "task_id", "token_hash",
        "state", "reason", "exit_code", "requested_at", "started_at", "claimed_at", "claim_id", "last_heartbeat_at",
        "completed_at", "stop_requested_at", "stopped_at", "next_log_seq", "log_bytes",
    ]
    static let keyColumns = ["id"]
    static var databaseSelection: [any SQLSelectable] { selection }
    static let upsertSQL = upsertText
    static let selectSQL = "SELECT \(columnList) FROM \(databaseTableName)"

    init(row: Row) {
        id = row[0]
        job = row[1]
        generation = row[2]
        run = row[3]
        number = row[4]
        profile = row[5]
        plugin = row[6]
        retries = row[7]
        taskName = row[8]
        taskId = row[9]
        tokenHash = row[10]
        state = row[11]
        reason = row[12]
        exitCode = row[13]
        requestedAt = Date(timeIntervalSinceReferenceDate: row[14])
        startedAt = date(row, 15)
        claimedAt = date(row, 16)
        claimId = row[17]
        lastHeartbeatAt = date(row, 18)
        completedAt = date(row, 19)
        stopRequestedAt = date(row, 20)
        stoppedAt = date(row, 21)
        nextLogSeq = row[22]
        logBytes = row[23]
    }

    var values: [(any DatabaseValueConvertible)?] {
        [
            id, job, generation, run, number, profile, plugin, retries, taskName, taskId, tokenHash, state, reason, exitCode,
            requestedAt.timeIntervalSinceReferenceDate, startedAt.seconds, claimedAt.seconds, claimId, lastHeartbeatAt.seconds,
            completedAt.seconds, stopRequestedAt.seconds, stoppedAt.seconds, nextLogSeq, logBytes,
        ]
    }
}

extension EventRow {
    /// Appends the event (its id given by SQLite), through a kept statement.
    func append(in db: Database) throws {
        let sql = "INSERT INTO event (job, generation, run, attempt, at, kind, message) VALUES (?, ?, ?, ?, ?, ?, ?)"
        try db.cachedStatement(sql: sql).execute(arguments: [job, generation, run, attempt, at.timeIntervalSinceReferenceDate, kind, message])
    }
}
