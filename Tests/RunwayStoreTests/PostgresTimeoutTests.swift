import Foundation
import RunwayModel
import RunwayStore
import RunwayTestSupport
import Testing

/// A PostgreSQL operation that runs out of time says where it was: waiting for a pooled
/// connection, for a job's lock, in its queries or committing.
@Suite(.enabled(if: TestPostgres.shouldRun, "no test PostgreSQL (RUNWAY_TEST_POSTGRES_URL unset); scripts/test.sh starts one"))
struct PostgresTimeoutTests {
    /// Advisory locks held (`granted`) or waited for in `url`'s database.
    static func advisoryLocks(_ url: String, granted: Bool) async -> Int? {
        let sql = "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            + "WHERE l.locktype = 'advisory' AND l.granted = \(granted) AND d.datname = current_database()"
        return (try? await TestPostgres.psql(url, sql)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test func aWriteHeldOnItsJobsLockTimesOutSayingSo() async throws {
        let url = try await TestPostgres.freshDatabase()
        var location = try PostgresStateStore.Location(url: url)
        location.operationTimeout = .seconds(2)
        let store = try await PostgresStateStore(location: location)
        let generation = Generation(digest: "0123456789abcdef")
        let now = Date()
        try await store.apply(StoreChange(records: [
            JobRecord(job: "locked", generation: generation, profile: "p", state: .held, attempt: 1, createdAt: now)
        ]))
        // Another session holds the job's lock (the store locks a job's writes by
        // hashtext(job, 0x1F, generation)) until the test ends it.
        let scratch = TemporaryDirectory()
        let holder = try await RunningCommand.shell(
            "psql -X -q '\(url)' -c \"SELECT pg_advisory_lock(hashtext('locked' || chr(31) || '\(generation.digest)'))\" "
                + "-c 'SELECT pg_sleep(120) /* runway-timeout-test */' >'\(scratch.path)/psql.out' 2>&1 & echo $!",
            directory: "/")
        let pid = try #require(Int32(holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(60)) { await Self.advisoryLocks(url, granted: true) == 1 }, "the holder has the lock")
        let error = await #expect(throws: StoreError.self) {
            try await store.modify(.job(JobKey(job: "locked", generation: generation))) { _, _ in (StoreChange(), ()) }
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("no answer from PostgreSQL within 2s (waiting for job locked's lock)"), "\(String(describing: error))")
        // A read of another job is not held up.
        #expect(try await store.jobRecords().count == 1)
        // The holder's session ends on the server too (a killed psql's sleep would hold the lock
        // on), and with it the wait of the write that timed out.
        try await TestPostgres.psql(
            url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%runway-timeout-test%' AND pid <> pg_backend_pid()")
    }

    /// Every pooled connection is taken (eight writes wait on a job's lock): another operation
    /// does not wait for the pool past half its timeout, it runs on a connection of its own.
    @Test func anOperationThePoolGivesNoConnectionRunsOnItsOwn() async throws {
        let url = try await TestPostgres.freshDatabase()
        var location = try PostgresStateStore.Location(url: url)
        location.operationTimeout = .seconds(6)
        let store = try await PostgresStateStore(location: location)
        let generation = Generation(digest: "0123456789abcdef")
        try await store.apply(StoreChange(records: [
            JobRecord(job: "busy", generation: generation, profile: "p", state: .held, attempt: 1, createdAt: Date())
        ]))
        let scratch = TemporaryDirectory()
        let holder = try await RunningCommand.shell(
            "psql -X -q '\(url)' -c \"SELECT pg_advisory_lock(hashtext('busy' || chr(31) || '\(generation.digest)'))\" "
                + "-c 'SELECT pg_sleep(120) /* runway-pool-test */' >'\(scratch.path)/psql.out' 2>&1 & echo $!",
            directory: "/")
        let pid = try #require(Int32(holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(60)) { await Self.advisoryLocks(url, granted: true) == 1 }, "the holder has the lock")
        // Eight writes take the pool's eight connections and wait on the lock.
        let waiting = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { _ = try? await store.modify(.job(JobKey(job: "busy", generation: generation))) { _, _ in (StoreChange(), ()) } }
                }
            }
        }
        #expect(await RunningCommand.until(timeout: .seconds(60)) { await Self.advisoryLocks(url, granted: false) == 8 }, "eight writes wait on the lock")
        // The pool has nothing to give: the read runs on a connection of its own.
        #expect(try await store.jobRecords().map(\.job) == ["busy"])
        try await TestPostgres.psql(
            url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%runway-pool-test%' AND pid <> pg_backend_pid()")
        await waiting.value
    }
}
