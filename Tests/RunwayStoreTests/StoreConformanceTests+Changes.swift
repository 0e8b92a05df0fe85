import Foundation
import RunwayModel
import RunwayTestSupport
import Synchronization
import Testing

@testable import RunwayStore

/// `jobRecords(changedSince:)`: a reader that keeps the records and asks only for those written
/// since its last read holds exactly what a full read holds, whichever way they were written.
extension StoreConformanceTests {
    /// The records a reader keeps, brought up to date by changed-since reads.
    struct Reader {
        var records: [JobKey: JobRecord] = [:]
        var cursor: Int64?
        /// The records the last read returned.
        var returned: [JobRecord] = []

        mutating func read(_ store: any StateStore) async throws {
            let (changed, next) = try await store.jobRecords(changedSince: cursor)
            for record in changed { records[record.key] = record }
            (returned, cursor) = (changed, next)
        }

        func matches(_ store: any StateStore) async throws -> Bool {
            try await records == Dictionary(store.jobRecords().map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    @Test(arguments: Kind.available)
    func changedRecordsAreReadWhicheverWayTheyWereWritten(kind: Kind) async throws {
        let store = try await subject(kind).open()
        var reader = Reader()
        try await reader.read(store)
        #expect(reader.records.isEmpty)
        let many = (0..<40).map { record("job-\($0)", .succeeded) }
        var running = attempt("runs")
        running.state = .running
        try await store.apply(StoreChange(records: many + [record("runs", .running)], attempts: [running]))
        try await reader.read(store)
        #expect(try await reader.matches(store) && reader.records.count == 41)
        if kind == .sqlite {  // PostgreSQL may return a few again (another transaction was open)
            try await reader.read(store)
            #expect(reader.returned.isEmpty, "nothing written since")
        }

        // Each way a record is written: a plain write, a compare-and-set, compaction; and a
        // heartbeat batch, which is not a change (its writer notes the heartbeats it wrote).
        var edited = many[3]
        edited.lastReason = "edited"
        try await store.apply(StoreChange(records: [edited]))
        try await store.modify(.job(many[5].key)) { _, record in
            var next = record!
            next.lastReason = "modified"
            return (StoreChange(records: [next]), ())
        }
        let beat = now.addingTimeInterval(30)
        try await store.recordHeartbeats([running.id: beat])
        try await store.compact([many[7].key])
        try await reader.read(store)
        #expect(reader.records[many[3].key]?.lastReason == "edited" && reader.records[many[5].key]?.lastReason == "modified")
        #expect(reader.records[many[7].key]?.compacted == true)
        let changed = Set(reader.returned.map(\.job))
        #expect(changed.isSuperset(of: ["job-3", "job-5", "job-7"]))
        if kind == .sqlite { #expect(changed == ["job-3", "job-5", "job-7"], "only what was written, no heartbeat") }
        reader.records[record("runs").key]?.lastHeartbeatAt = beat
        #expect(try await reader.matches(store), "the heartbeat is in the store")

        // A write after the heartbeat is a change, and carries it.
        try await store.modify(.job(record("runs").key)) { _, record in
            var next = record!
            next.lastReason = "still running"
            return (StoreChange(records: [next]), ())
        }
        try await reader.read(store)
        #expect(reader.returned.contains { $0.job == "runs" && $0.lastHeartbeatAt == beat && $0.lastReason == "still running" })
        #expect(try await reader.matches(store))
    }

    /// Writers on two connections commit in any order while a reader keeps up by changed-since
    /// reads: it misses nothing (PostgreSQL's commits land out of the order transactions began).
    @Test(arguments: Kind.available)
    func aReaderKeepingUpWithConcurrentWritersMissesNothing(kind: Kind) async throws {
        let subject = try await subject(kind)
        let store = try await subject.open()
        let other = try await subject.open()
        let finished = Mutex(false)
        let writing = Task {
            defer { finished.withLock { $0 = true } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        for index in 0..<30 {
                            let written = self.record("w\(writer)-\(index % 10)", .running, attempt: index + 1)
                            try await (writer.isMultiple(of: 2) ? store : other).apply(StoreChange(records: [written]))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        var reader = Reader()
        var reads = 0
        while !finished.withLock({ $0 }) {
            try await reader.read(store)
            reads += 1
        }
        try await writing.value
        try await reader.read(store)
        #expect(try await reader.matches(store), "after \(reads) reads during the writes")
        // Each name's last write was pass 20 + its number, attempt 21 + it.
        #expect(reader.records.count == 40)
        #expect(reader.records.values.allSatisfy { $0.attempt == 21 + Int($0.job.split(separator: "-").last!)! })
    }

    /// PostgreSQL: a transaction that began first commits last. A reader that read in between
    /// (and saw the later one's record) still gets the earlier one's on its next read.
    @Test func aTransactionThatCommitsLastIsNotMissed() async throws {
        guard TestPostgres.shouldRun else { return }
        let url = try await TestPostgres.freshDatabase()
        let store = try await PostgresStateStore(location: .init(url: url))
        try await store.apply(StoreChange(records: [record("early"), record("late")]))
        var reader = Reader()
        try await reader.read(store)
        // Its row written (its transaction id taken) now; committed a second later.
        let slow = Task {
            try await TestPostgres.psql(url, "BEGIN; UPDATE job SET last_reason = 'slow' WHERE job = 'early'; SELECT pg_sleep(1.5); COMMIT;")
        }
        try await Task.sleep(for: .milliseconds(500))
        var late = record("late")
        late.lastReason = "quick"
        try await store.apply(StoreChange(records: [late]))
        try await reader.read(store)
        #expect(reader.records[late.key]?.lastReason == "quick")
        _ = try await slow.value
        try await reader.read(store)
        #expect(reader.records[record("early").key]?.lastReason == "slow", "the record committed last, by the transaction that began first")
        #expect(try await reader.matches(store))
    }

    /// Two controllers publish their facts at once, their keys in different orders (as two
    /// processes' dictionaries iterate them): neither fails (a deadlock on PostgreSQL did).
    @Test(arguments: Kind.available)
    func factsPublishedAtOnceInAnyOrderAllLand(kind: Kind) async throws {
        let subject = try await subject(kind)
        let (first, second) = (try await subject.open(), try await subject.open())
        // The same keys in two dictionaries of different capacities iterate in different orders.
        func facts(_ value: String, capacity: Int) -> [String: String?] {
            var facts = [String: String?](minimumCapacity: capacity)
            for index in 0..<12 { facts["fact-\(index)"] = value }
            return facts
        }
        try #require(Array(facts("", capacity: 12).keys) != Array(facts("", capacity: 400).keys), "the premise: two orders")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (store, capacity) in [(first, 12), (second, 400)] {
                group.addTask {
                    for round in 0..<40 { try await store.publish(facts("\(round)", capacity: capacity)) }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await first.controllerFacts().count == 12)
    }
}
