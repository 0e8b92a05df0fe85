import Foundation
import RunwayModel
import RunwayStore
import RunwayTestSupport
import Testing

/// Runs in the store, on SQLite and PostgreSQL alike: each run its own record, requests kept
/// once per id, and compaction that removes a run's details but keeps its record.
extension StoreConformanceTests {
    @Test(arguments: Kind.available)
    func runsAreRecordsOfTheirOwnAndRequestsAreKeptOncePerID(kind: Kind) async throws {
        let store = try await subject(kind).open()
        var first = record("build", .succeeded)
        first.origin = nil
        var second = record("build", .running)
        second.run = 2
        second.origin = "rerun by alice: flaky"
        second.upstream = "lib@01234567#3"
        second.scheduledFor = now.addingTimeInterval(0.25)
        second.rerunToken = "two"
        var third = record("build", .pending, attempt: 0)
        third.run = 3
        third.scheduledAfter = now.addingTimeInterval(1e-6)
        var attempt2 = attempt("build")
        attempt2 = AttemptRecord(
            job: "build", generation: attempt2.generation, run: 2, number: 1, profile: "p", plugin: "local", retries: 0,
            taskName: "runway-build-01234567-r2-1", tokenHash: TaskToken.hash("r2"), requestedAt: now)
        try await store.apply(StoreChange(
            records: [first, second, third], attempts: [attempt("build"), attempt2],
            events: [JobEvent(first, at: now, kind: "one", message: ""), JobEvent(second, at: now, kind: "two", message: "")]))
        #expect(Set(try await store.jobRecords()) == [first, second, third])
        #expect(attempt2.id == "build.0123456789abcdef.r2.1")
        let found = try await store.modify(.job(second.key)) { attempt, record in (StoreChange(), (attempt?.id, record)) }
        #expect(found.0 == attempt2.id && found.1 == second)
        #expect(try await store.events(job: "build").map(\.run) == [1, 2])

        let asked = JobRequest(id: "req-1", job: "build", kind: .rerun, reason: "flaky", requestedBy: "alice@host", requestedAt: now)
        #expect(try await store.request(asked) == asked)
        let again = JobRequest(id: "req-1", job: "other", kind: .cancel, reason: nil, requestedBy: "bob", requestedAt: now.addingTimeInterval(5))
        #expect(try await store.request(again) == asked, "the same id is the request first recorded")
        #expect(try await store.openRequests() == [asked])
        var handled = asked
        handled.handledAt = now.addingTimeInterval(1)
        handled.outcome = "run 4 queued"
        var change = StoreChange()
        change.requests = [handled]
        try await store.apply(change)
        #expect(try await store.openRequests().isEmpty)
        #expect(try await store.requests(job: "build") == [handled])
        #expect(try await store.request(asked) == handled, "a repeat learns the outcome")

        try await store.compact([first.key])
        var compacted = first
        compacted.compacted = true
        #expect(Set(try await store.jobRecords()) == [compacted, second, third], "the record stays: a compacted run never runs again")
        #expect(try await store.attempts(job: "build") == [attempt2])
        #expect(try await store.events(job: "build").map(\.kind) == ["two"])
        #expect(try await store.liveTokenHashes(completedSince: now)[attempt("build").tokenHash] == nil)
    }
}
