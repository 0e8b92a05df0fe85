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

    /// A psql session of the test's own that takes `job`'s lock (the store locks a job's writes
    /// by hashtext(job, 0x1F, generation)) and keeps it, tagged `tag`, until `release`; its pid.
    static func holdLock(of job: String, _ generation: Generation, in url: String, tag: String, scratch: TemporaryDirectory) async throws -> Int32 {
        let holder = try await RunningCommand.shell(
            "psql -X -q '\(url)' -c \"SELECT pg_advisory_lock(hashtext('\(job)' || chr(31) || '\(generation.digest)'))\" "
                + "-c 'SELECT pg_sleep(120) /* \(tag) */' >'\(scratch.path)/psql.out' 2>&1 & echo $!",
            directory: "/")
        let pid = try #require(Int32(holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await RunningCommand.until(timeout: .seconds(60)) { await advisoryLocks(url, granted: true) == 1 }, "the holder has the lock")
        return pid
    }

    /// Ends the holder's session on the server too (a killed psql's sleep would hold the lock on),
    /// and with it every wait on the lock.
    static func release(_ url: String, tag: String) async throws {
        try await TestPostgres.psql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%\(tag)%' AND pid <> pg_backend_pid()")
    }

    /// A store on a fresh database whose operations wait at most `timeout`, holding one record
    /// of `job` (generation 0123456789abcdef); its URL.
    static func store(timeout: Duration, job: String) async throws -> (PostgresStateStore, url: String, Generation) {
        let url = try await TestPostgres.freshDatabase()
        var location = try PostgresStateStore.Location(url: url)
        location.operationTimeout = timeout
        let store = try await PostgresStateStore(location: location)
        let generation = Generation(digest: "0123456789abcdef")
        try await store.apply(StoreChange(records: [
            JobRecord(job: job, generation: generation, profile: "p", state: .held, attempt: 1, createdAt: Date())
        ]))
        return (store, url, generation)
    }

    @Test func aWriteHeldOnItsJobsLockTimesOutSayingSo() async throws {
        let (store, url, generation) = try await Self.store(timeout: .seconds(2), job: "locked")
        // Another session holds the job's lock until the test ends it.
        let scratch = TemporaryDirectory()
        let pid = try await Self.holdLock(of: "locked", generation, in: url, tag: "runway-timeout-test", scratch: scratch)
        defer { kill(pid, SIGKILL) }
        let error = await #expect(throws: StoreError.self) {
            try await store.modify(.job(JobKey(job: "locked", generation: generation))) { _, _ in (StoreChange(), ()) }
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("no answer from PostgreSQL within 2s (waiting for job locked's lock)"), "\(String(describing: error))")
        // A read of another job is not held up.
        #expect(try await store.jobRecords().count == 1)
        try await Self.release(url, tag: "runway-timeout-test")
    }

    /// Every pooled connection is taken (eight writes wait on a job's lock): another operation
    /// does not wait for the pool past half its timeout, it runs on a connection of its own.
    @Test func anOperationThePoolGivesNoConnectionRunsOnItsOwn() async throws {
        let (store, url, generation) = try await Self.store(timeout: .seconds(6), job: "busy")
        let scratch = TemporaryDirectory()
        let pid = try await Self.holdLock(of: "busy", generation, in: url, tag: "runway-pool-test", scratch: scratch)
        defer { kill(pid, SIGKILL) }
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
        try await Self.release(url, tag: "runway-pool-test")
        await waiting.value
    }
}
