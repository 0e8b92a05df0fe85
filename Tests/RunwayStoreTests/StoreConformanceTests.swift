import Foundation
import GRDB
import RunwayModel
import RunwayTestSupport
import Testing

@testable import RunwayStore

/// The `StateStore` promises, checked the same way on every store (as Waypoint's `statetest`
/// did for its backends): records, attempts, events and the log index round-trip exactly;
/// `modify` is atomic; a failed decision writes nothing; the lease has one holder and fences the
/// deposed one; concurrent writers lose nothing; migrations run from an empty and from a
/// previous-version database. A new store gets one more `Kind`.
@Suite struct StoreConformanceTests {
    enum Kind: String, CustomTestStringConvertible, CaseIterable, Sendable {
        case sqlite, postgres
        var testDescription: String { rawValue }

        /// The stores these tests run on here: SQLite always, PostgreSQL with the test server.
        static var available: [Kind] { TestPostgres.shouldRun ? [.sqlite, .postgres] : [.sqlite] }

        /// Every migration of the store, in order: the shared ones, and PostgreSQL's table of
        /// log output (SQLite keeps output in files), then token aliases.
        var migrations: [String] {
            StoreConformanceTests.allMigrations
                + (self == .postgres
                    ? ["v4: log output", "v5: token aliases, claim ids", "v6: runs, requests, compaction", "v7: record writers",
                        "v8: heartbeats are not record changes"]
                    : ["v4: token aliases, claim ids", "v5: runs, requests, compaction", "v6: record revisions",
                        "v7: heartbeats are not record changes"])
        }
    }

    /// A fresh, empty store of `kind` and a way to open it again.
    struct Subject {
        let open: @Sendable () async throws -> any StateStore
        let migrations: @Sendable () async throws -> [String]
    }

    let scratch = TemporaryDirectory()
    let now = Date()

    func subject(_ kind: Kind) async throws -> Subject {
        switch kind {
        case .sqlite:
            let directory = scratch.path
            return Subject(
                open: { try SQLiteStateStore(directory: directory) },
                migrations: { try SQLiteStateStore(directory: directory).appliedMigrations() })
        case .postgres:
            let url = try await TestPostgres.freshDatabase()
            // The suite checks what is written and read, not how soon: on a loaded CI machine a
            // write once took longer than the store's 5 s default.
            var location = try PostgresStateStore.Location(url: url)
            location.operationTimeout = .seconds(60)
            let patient = location
            return Subject(
                open: { try await PostgresStateStore(location: patient) },
                migrations: { try await PostgresStateStore(location: patient).appliedMigrations() })
        }
    }

    func record(_ job: String, _ state: JobRecord.State = .held, attempt: Int = 1) -> JobRecord {
        JobRecord(
            job: job, generation: Generation(digest: "0123456789abcdef"), profile: "p", state: state, attempt: attempt,
            lastReason: "why", exitCode: 3, createdAt: now, heldSince: now.addingTimeInterval(0.123_456_7), runningSince: nil,
            nextAttemptAt: now.addingTimeInterval(1e-6), lastHeartbeatAt: nil)
    }

    func attempt(_ job: String, number: Int = 1, token: String = "t") -> AttemptRecord {
        AttemptRecord(
            job: job, generation: Generation(digest: "0123456789abcdef"), number: number, profile: "p", plugin: "local",
            retries: 2, taskName: "runway-\(job)-01234567-\(number)", tokenHash: TaskToken.hash(token + job), requestedAt: now)
    }

    static let allMigrations = ["v1: jobs, attempts, events, log index", "v2: leader lease", "v3: controller facts"]

    @Test(arguments: Kind.available)
    func recordsRoundTripExactly(kind: Kind) async throws {
        let subject = try await subject(kind)
        let store = try await subject.open()
        let written = record("a")
        var started = attempt("a")
        started.startedAt = now.addingTimeInterval(0.5)
        started.taskID = "id-1"
        started.claimID = "claim-1"
        var change = StoreChange(records: [written], attempts: [started], events: [
            JobEvent(written, attempt: 1, at: now, kind: "held", message: "m"), JobEvent(written, at: now, kind: "second", message: "n"),
        ])
        change.tokenAliases = ["kept-hash": started.id]
        try await store.apply(change)
        // An attempt is found by its token hash and by every hash it kept; by no other.
        for hash in [started.tokenHash, "kept-hash"] {
            #expect(try await store.modify(.tokenHash(hash)) { attempt, record in (StoreChange(), attempt?.id) } == started.id)
        }
        #expect(try await store.modify(.tokenHash("other")) { attempt, _ in (StoreChange(), attempt?.id) } == nil)
        #expect(try await store.jobRecords() == [written], "dates keep full precision, so compare-and-set works")
        #expect(try await store.jobRecords(job: "a") == [written])
        #expect(try await store.attempts(job: "a") == [started])
        #expect(try await store.attempt(id: started.id) == started)
        #expect(try await store.openAttempts() == [started])
        #expect(try await store.events(job: "a").map(\.kind) == ["held", "second"])
        #expect(try await subject.migrations() == kind.migrations)
        try await store.publish(["leader": "me", "gone": "x"])
        try await store.publish(["gone": nil])
        #expect(try await store.controllerFacts() == ["leader": "me"])
        // Reopening migrates nothing twice and keeps everything.
        #expect(try await subject.open().jobRecords() == [written])
        #expect(try await subject.migrations() == kind.migrations)
    }

    /// Heartbeats written in a batch: to a running attempt and its record (which runs it), never
    /// backwards; not to an attempt that ended, nor to a record that moved on to another attempt.
    @Test(arguments: Kind.available)
    func heartbeatsAreWrittenInABatchOnlyToWhatRuns(kind: Kind) async throws {
        let store = try await subject(kind).open()
        var running = attempt("runs")
        running.state = .running
        var runningRecord = record("runs", .running)
        runningRecord.lastHeartbeatAt = now
        running.lastHeartbeatAt = now
        var ended = attempt("ended")
        ended.state = .completed
        var movedOn = attempt("moved", number: 1)
        movedOn.state = .running
        try await store.apply(StoreChange(
            records: [runningRecord, record("ended", .succeeded), record("moved", .running, attempt: 2)], attempts: [running, ended, movedOn]))
        let later = now.addingTimeInterval(7.25)
        try await store.recordHeartbeats([running.id: later, ended.id: later, movedOn.id: later, "no-such-attempt": later])
        #expect(try await store.attempt(id: running.id)?.lastHeartbeatAt == later)
        #expect(try await store.jobRecords(job: "runs").first?.lastHeartbeatAt == later)
        #expect(try await store.attempt(id: ended.id)?.lastHeartbeatAt == nil, "an attempt that ended keeps what it had")
        #expect(try await store.jobRecords(job: "ended").first?.lastHeartbeatAt == nil)
        #expect(try await store.attempt(id: movedOn.id)?.lastHeartbeatAt == later)
        #expect(try await store.jobRecords(job: "moved").first?.lastHeartbeatAt == nil, "the record runs attempt 2, not this one")
        try await store.recordHeartbeats([running.id: now])
        #expect(try await store.attempt(id: running.id)?.lastHeartbeatAt == later, "never backwards")
        try await store.recordHeartbeats([:])
    }

    @Test(arguments: Kind.available)
    func modifyIsAtomicSoOnlyOneOfTwoClaimsWins(kind: Kind) async throws {
        let store = try await subject(kind).open()
        try await store.apply(StoreChange(records: [record("race")], attempts: [attempt("race", token: "x")]))
        let hash = TaskToken.hash("xrace")
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.modify(.tokenHash(hash)) { attempt, record in
                        guard var attempt, attempt.state == .starting, record?.job == "race" else { return (StoreChange(), false) }
                        attempt.state = .running
                        return (StoreChange(attempts: [attempt]), true)
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        #expect(try await store.attempts(job: "race").first?.state == .running)
    }

    @Test(arguments: Kind.available)
    func aFailedDecisionWritesNothing(kind: Kind) async throws {
        struct Refused: Error {}
        let store = try await subject(kind).open()
        try await store.apply(StoreChange(records: [record("keep")], attempts: [attempt("keep")]))
        await #expect(throws: Refused.self) {
            let _: Void = try await store.modify(.job(JobKey(job: "keep", generation: Generation(digest: "0123456789abcdef")))) {
                attempt, record in
                guard attempt?.number == 1, record?.job == "keep" else { return (StoreChange(), ()) }
                throw Refused()
            }
        }
        #expect(try await store.jobRecords().first?.state == .held)
    }

    @Test(arguments: Kind.available)
    func logIndexIgnoresARepeatedChunk(kind: Kind) async throws {
        let store = try await subject(kind).open()
        let chunk = LogChunk(attemptID: "a.1", seq: 0, stream: .stdout, offset: 0, length: 4, at: now)
        let next = LogChunk(attemptID: "a.1", seq: 1, stream: .stderr, offset: 4, length: 2, at: now)
        try await store.apply(StoreChange(logChunks: [chunk]))
        try await store.apply(StoreChange(logChunks: [chunk, next]))
        #expect(try await store.logChunks(attemptID: "a.1") == [chunk, next])
    }

    /// A store that keeps output (PostgreSQL) returns it in order, a repeated chunk once; one
    /// that does not (SQLite: files) keeps only the index.
    @Test(arguments: Kind.available)
    func logOutputIsKeptInOrderByAStoreThatKeepsIt(kind: Kind) async throws {
        let store = try await subject(kind).open()
        #expect(store.keepsLogOutput == (kind == .postgres))
        let first = LogChunk(attemptID: "a.1", seq: 0, stream: .stdout, offset: 0, length: 4, at: now, bytes: Array("abcd".utf8))
        let second = LogChunk(attemptID: "a.1", seq: 1, stream: .stderr, offset: 4, length: 3, at: now, bytes: [0, 0xFF, 0x0A])
        var repeated = first
        repeated.bytes = Array("XXXX".utf8)
        try await store.apply(StoreChange(logChunks: [second]))
        try await store.apply(StoreChange(logChunks: [first, repeated]))
        try await store.apply(StoreChange(logChunks: [LogChunk(attemptID: "b.1", seq: 0, stream: .stdout, offset: 0, length: 1, at: now, bytes: [1])]))
        #expect(try await store.logOutput(attemptID: "a.1", range: 0..<7) == (store.keepsLogOutput ? Array("abcd".utf8) + [0, 0xFF, 0x0A] : []))
        // A window across the chunks' boundary, and one past the end.
        #expect(try await store.logOutput(attemptID: "a.1", range: 2..<5) == (store.keepsLogOutput ? Array("cd".utf8) + [0] : []))
        #expect(try await store.logOutput(attemptID: "a.1", range: 7..<100) == [])
        let index = try await store.logChunks(attemptID: "a.1").map { chunk in
            var chunk = chunk
            chunk.bytes = nil
            return chunk
        }
        #expect(index.map(\.seq) == [0, 1] && index.map(\.length) == [4, 3])
    }

    @Test(arguments: Kind.available)
    func leaseHasOneHolderAndFencesTheDeposedOne(kind: Kind) async throws {
        let store = try await subject(kind).open()
        let t0 = Date()
        let a = try #require(try await store.acquireLease("controller", holder: "a", duration: .seconds(10), now: t0))
        #expect(a.token == 1)
        #expect(try await store.acquireLease("controller", holder: "b", duration: .seconds(10), now: t0.addingTimeInterval(5)) == nil)
        let renewed = try #require(try await store.acquireLease("controller", holder: "a", duration: .seconds(10), now: t0.addingTimeInterval(5)))
        #expect(renewed.token == 1, "a renewal keeps the token")
        // a's lease expires (a paused leader): b takes over with the next token, for long enough
        // that b's own write below finds it current however slowly this test runs.
        let b = try #require(try await store.acquireLease("controller", holder: "b", duration: .seconds(3600), now: t0.addingTimeInterval(16)))
        #expect(b.token == 2)
        #expect(try await store.lease("controller")?.holder == "b")
        // a wakes up and tries to start something with its old lease: refused, nothing written.
        await #expect(throws: FencedError.self) {
            try await store.apply(StoreChange(records: [record("late")], fence: renewed))
        }
        await #expect(throws: FencedError.self) {
            try await store.modify(.job(JobKey(job: "late", generation: Generation(digest: "0123456789abcdef")))) { _, _ in
                (StoreChange(records: [record("late")], fence: renewed), ())
            }
        }
        #expect(try await store.jobRecords().isEmpty)
        try await store.apply(StoreChange(records: [record("ok")], fence: b))
        #expect(try await store.jobRecords().count == 1)
        // A clean release hands over at once; tokens keep growing.
        try await store.releaseLease("controller", holder: "b")
        let again = try #require(try await store.acquireLease("controller", holder: "a", duration: .seconds(10), now: Date()))
        #expect(again.token == 3)
    }

    @Test(arguments: Kind.available)
    func concurrentWritersLoseNothingAndOneTakesTheLease(kind: Kind) async throws {
        let subject = try await subject(kind)
        let store = try await subject.open()
        let other = try await subject.open()  // a second process's connection to the same store
        let base = record("busy")
        try await store.apply(StoreChange(records: [base]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<20 {
                        try await (writer.isMultiple(of: 2) ? store : other).apply(StoreChange(events: [
                            JobEvent(base, at: Date(), kind: "w\(writer)", message: "\(index)")
                        ]))
                    }
                }
            }
            try await group.waitForAll()
        }
        let events = try await store.events(job: "busy")
        #expect(events.count == 160)
        #expect((0..<8).allSatisfy { writer in events.filter { $0.kind == "w\(writer)" }.map(\.message) == (0..<20).map(String.init) },
            "each writer's events in its order")
        let holders = try await withThrowingTaskGroup(of: Lease?.self) { group in
            for holder in ["x", "y", "z"] {
                group.addTask { try await (holder == "y" ? other : store).acquireLease("race", holder: holder, duration: .seconds(30), now: Date()) }
            }
            return try await group.reduce(into: [Lease]()) { if let lease = $1 { $0.append(lease) } }
        }
        #expect(holders.count == 1 && holders.first?.token == 1, "\(holders)")
    }

    /// A database made by the first release (v1 only) with data in it: opening migrates the rest
    /// once and keeps the data.
    @Test(arguments: Kind.available)
    func migratesFromAPreviousVersion(kind: Kind) async throws {
        let subject = try await subject(kind)
        let old = record("old")
        // A row as the first release wrote it: no run, so it is run 1.
        let insert = "INSERT INTO job (job, generation, profile, state, attempt, last_reason, exit_code, created_at, updated_at, held_since, next_attempt_at) VALUES ('old', '\(old.generation.digest)', 'p', 'held', 1, 'why', 3, \(old.createdAt.timeIntervalSinceReferenceDate), \(old.updatedAt.timeIntervalSinceReferenceDate), \(old.heldSince!.timeIntervalSinceReferenceDate), \(old.nextAttemptAt!.timeIntervalSinceReferenceDate))"
        switch kind {
        case .sqlite:
            let pool = try DatabasePool(path: scratch.path + "/runway.sqlite")
            try Schema.migrator.migrate(pool, upTo: Self.allMigrations[0])
            try await pool.write { db in try db.execute(sql: insert) }
        case .postgres:
            let url = try await TestPostgres.freshDatabase()
            let first = PostgresSchema.migrations[0]
            try await TestPostgres.psql(url, (first.statements + [
                "CREATE TABLE schema_migration (version text PRIMARY KEY, applied_at double precision NOT NULL)",
                "INSERT INTO schema_migration VALUES ('\(first.version)', 0)",
                insert,
            ]).joined(separator: ";\n") + ";")
            let store = try await PostgresStateStore(location: .init(url: url))
            #expect(try await store.appliedMigrations() == kind.migrations)
            #expect(try await store.jobRecords() == [old])
            #expect(try await store.acquireLease("controller", holder: "a", duration: .seconds(5), now: Date())?.token == 1, "v2's table is there")
            return
        }
        #expect(try await subject.migrations() == kind.migrations)
        #expect(try await subject.open().jobRecords() == [old])
    }
}
