import Foundation
import RunwayModel
import RunwayStore
import RunwayTestSupport
import Testing

@Suite struct SQLiteStateStoreTests {
    let scratch = TemporaryDirectory()
    let now = Date()

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

    @Test func recordsRoundTripExactly() async throws {
        let store = try SQLiteStateStore(directory: scratch.path)
        let written = record("a")
        try await store.apply(StoreChange(records: [written], attempts: [attempt("a")], events: [
            JobEvent(written, attempt: 1, at: now, kind: "held", message: "m")
        ]))
        let read = try await store.jobRecords()
        #expect(read == [written], "dates keep full precision, so compare-and-set works")
        #expect(try await store.attempts(job: "a") == [attempt("a")])
        #expect(try await store.events(job: "a").map(\.kind) == ["held"])
        #expect(try store.appliedMigrations() == ["v1: jobs, attempts, events, log index", "v2: leader lease", "v3: controller facts"])
        // Reopening migrates nothing twice and keeps everything.
        let reopened = try SQLiteStateStore(directory: scratch.path)
        #expect(try await reopened.jobRecords() == [written])
    }

    @Test func modifyIsAtomicSoOnlyOneOfTwoClaimsWins() async throws {
        let store = try SQLiteStateStore(directory: scratch.path)
        try await store.apply(StoreChange(records: [record("race")], attempts: [attempt("race", token: "x")]))
        let hash = TaskToken.hash("xrace")
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.modify(.tokenHash(hash)) { attempt, record in
                        guard var attempt, attempt.state == .starting else { return (StoreChange(), false) }
                        attempt.state = .running
                        return (StoreChange(attempts: [attempt]), true)
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
    }

    @Test func aFailedDecisionWritesNothing() async throws {
        struct Refused: Error {}
        let store = try SQLiteStateStore(directory: scratch.path)
        try await store.apply(StoreChange(records: [record("keep")], attempts: [attempt("keep")]))
        await #expect(throws: Refused.self) {
            let _: Void = try await store.modify(.job(JobKey(job: "keep", generation: Generation(digest: "0123456789abcdef")))) {
                attempt, record in
                guard attempt?.number == 1, record?.job == "keep" else { return (StoreChange(), ()) }
                var changed = record!
                changed.state = .failed
                _ = StoreChange(records: [changed])
                throw Refused()
            }
        }
        #expect(try await store.jobRecords().first?.state == .held)
    }

    @Test func logIndexIgnoresARepeatedChunk() async throws {
        let store = try SQLiteStateStore(directory: scratch.path)
        let chunk = LogChunk(attemptID: "a.1", seq: 0, stream: .stdout, offset: 0, length: 4, at: now)
        try await store.apply(StoreChange(logChunks: [chunk]))
        try await store.apply(StoreChange(logChunks: [chunk]))
        #expect(try await store.logChunks(attemptID: "a.1") == [chunk])
    }

    @Test func leaseHasOneHolderAndFencesTheDeposedOne() async throws {
        let store = try SQLiteStateStore(directory: scratch.path)
        let t0 = Date()
        let a = try #require(try await store.acquireLease("controller", holder: "a", duration: .seconds(10), now: t0))
        #expect(a.token == 1)
        #expect(try await store.acquireLease("controller", holder: "b", duration: .seconds(10), now: t0.addingTimeInterval(5)) == nil)
        let renewed = try #require(try await store.acquireLease("controller", holder: "a", duration: .seconds(10), now: t0.addingTimeInterval(5)))
        #expect(renewed.token == 1, "a renewal keeps the token")
        // a's lease expires (a paused leader): b takes over with the next token.
        let b = try #require(try await store.acquireLease("controller", holder: "b", duration: .seconds(10), now: t0.addingTimeInterval(16)))
        #expect(b.token == 2)
        // a wakes up and tries to start something with its old lease: refused, nothing written.
        await #expect(throws: FencedError.self) {
            try await store.apply(StoreChange(records: [record("late")], fence: renewed))
        }
        #expect(try await store.jobRecords().isEmpty)
        try await store.apply(StoreChange(records: [record("ok")], fence: b))
        #expect(try await store.jobRecords().count == 1)
        // A clean release hands over at once; tokens keep growing.
        try await store.releaseLease("controller", holder: "b")
        let again = try #require(try await store.acquireLease("controller", holder: "a", duration: .seconds(10), now: Date()))
        #expect(again.token == 3)
    }
}
