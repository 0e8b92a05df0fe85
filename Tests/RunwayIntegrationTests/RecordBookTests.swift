import Foundation
import RunwayModel
import RunwayServer
import RunwayStore
import RunwayTestSupport
import Testing

@testable import RunwayController

/// The controller's record book against the store: the store does not count a heartbeat batch
/// as a record change, so the book notes the heartbeats written itself; after every read it
/// must hold exactly what a full read of the store holds, or a pass's compare-and-set writes
/// (which compare whole records) would be refused.
@Suite struct RecordBookTests {
    let scratch = TemporaryDirectory()
    let start = Date(timeIntervalSinceReferenceDate: 800_000_000)
    static let generation = Generation(digest: "0123456789abcdef")

    func record(_ job: String, _ state: JobRecord.State, attempt: Int, at time: Date) -> JobRecord {
        JobRecord(
            job: job, generation: Self.generation, profile: "p", state: state, attempt: attempt, createdAt: start,
            updatedAt: time, runningSince: state == .running ? time : nil)
    }

    func attempt(_ job: String, number: Int, _ state: AttemptRecord.State) -> AttemptRecord {
        var attempt = AttemptRecord(
            job: job, generation: Self.generation, number: number, profile: "p", plugin: "local", retries: 3,
            taskName: "runway-\(job)-01234567-\(number)", tokenHash: TaskToken.hash("\(job).\(number)"), requestedAt: start)
        attempt.state = state
        return attempt
    }

    /// Random histories of 12 jobs: runs start, run, finish and are retried; heartbeats arrive
    /// for running attempts, for ended ones, for the attempt before a retry, late (older than
    /// the last) and early; records are rewritten and compacted. The book reads the changed
    /// records and notes the heartbeats written, as a pass does; it always equals a full read.
    @Test(arguments: 0..<20)
    func aBookThatNotesItsHeartbeatsEqualsAFullRead(seed: UInt64) async throws {
        var random = SplitMix(seed: seed)
        let store = try SQLiteStateStore(directory: scratch.path + "/\(seed)")
        let book = RecordBook(fullReload: .seconds(3600))
        let jobs = (0..<12).map { "job-\($0)" }
        var now = start
        var lastBeat: [String: Date] = [:]
        var noted = 0
        for step in 0..<150 {
            now = now.addingTimeInterval(Double(random.next() % 5_000) / 1_000)
            let job = jobs[Int(random.next() % UInt64(jobs.count))]
            let current = try await store.jobRecords(job: job).first
            switch random.next() % 6 {
            case 0, 1:  // heartbeats, for this attempt or its predecessor, some late
                var beats: [String: Date] = [:]
                for _ in 0..<(1 + random.next() % 3) {
                    let other = jobs[Int(random.next() % UInt64(jobs.count))]
                    guard let record = try await store.jobRecords(job: other).first else { continue }
                    let number = max(1, record.attempt - Int(random.next() % 2))
                    let id = AttemptRecord.id(job: other, generation: Self.generation, number: number)
                    let time = random.next() % 4 == 0 ? (lastBeat[id] ?? now).addingTimeInterval(-1) : now
                    beats[id] = max(beats[id] ?? time, time)
                    lastBeat[id] = max(lastBeat[id] ?? time, time)
                }
                try await store.recordHeartbeats(beats)
                book.noteHeartbeats(beats)
                noted += beats.count
            case 2:  // a new attempt, held then running (a claim)
                let number = (current?.attempt ?? 0) + 1
                let state: JobRecord.State = random.next() % 3 == 0 ? .held : .running
                try await store.apply(StoreChange(
                    records: [record(job, state, attempt: number, at: now)],
                    attempts: [attempt(job, number: number, state == .running ? .running : .starting)]))
            case 3:  // the run ends
                guard var ended = current, !ended.state.isTerminal else { continue }
                ended.state = random.next() % 2 == 0 ? .succeeded : .failed
                ended.updatedAt = now
                var finished = attempt(job, number: ended.attempt, .completed)
                finished.completedAt = now
                try await store.apply(StoreChange(records: [ended], attempts: [finished]))
            case 4:  // a write that keeps the state (a reason), through compare-and-set
                guard current != nil else { continue }
                try await store.modify(.job(current!.key)) { _, record in
                    var next = record!
                    next.lastReason = "step \(step)"
                    return (StoreChange(records: [next]), ())
                }
            default:
                if let current, current.state.isTerminal, random.next() % 4 == 0 { try await store.compact([current.key]) }
            }
            try await book.read(from: store)
            let full = try await store.jobRecords()
            #expect(Set(book.all) == Set(full), "seed \(seed), step \(step)")
            if Set(book.all) != Set(full) { return }
        }
        #expect(noted > 20, "heartbeats noted: \(noted)")
    }

    /// A compare-and-set that finds the record changed hands the book the record as it is
    /// now: a record that differs only by a heartbeat some other controller wrote (which no
    /// read of the changed records brings) is refused once, not on every pass.
    @Test func aRefusedCompareAndSetRefreshesTheBook() async throws {
        let store = try SQLiteStateStore(directory: scratch.path)
        let running = record("beats", .running, attempt: 1, at: start)
        try await store.apply(StoreChange(records: [running], attempts: [attempt("beats", number: 1, .running)]))
        let book = RecordBook(fullReload: .seconds(3600))
        try await book.read(from: store)
        let beat = start.addingTimeInterval(5)
        try await store.recordHeartbeats([AttemptRecord.id(of: running): beat])  // another controller's
        try await book.read(from: store)
        #expect(book.all.first?.lastHeartbeatAt == nil, "not a record change")
        let current = try await store.jobRecords(job: "beats").first!
        book.refresh(current)
        #expect(book.all == [current] && current.lastHeartbeatAt == beat)
    }

    /// A job's runs and generations are records of their own in the book: each is found again
    /// (updated in place, not added twice) by its key, and a job's records are all taken.
    @Test func aJobsRunsAndGenerationsStayApart() async throws {
        let store = try SQLiteStateStore(directory: scratch.path)
        let book = RecordBook(fullReload: .seconds(3600))
        let other = Generation(digest: "fedcba9876543210")
        var runs = (1...3).map { run in
            var record = record("many", .pending, attempt: 0, at: start)
            record.run = run
            record.origin = run == 1 ? nil : "rerun \(run)"
            return record
        }
        var newer = record("many", .running, attempt: 1, at: start)
        newer.generation = other
        try await store.apply(StoreChange(records: runs + [newer, record("one", .pending, attempt: 0, at: start)]))
        try await book.read(from: store)
        runs[1].state = .succeeded
        runs[1].updatedAt = start.addingTimeInterval(1)
        try await store.apply(StoreChange(records: [runs[1]]))
        try await book.read(from: store)
        let taken = book.records(of: ["many"])
        #expect(taken.count == 4)
        #expect(Set(taken) == Set(runs + [newer]))
        #expect(Set(book.all) == Set(try await store.jobRecords()))
        #expect(book.records(of: ["one"]).map(\.job) == ["one"] && book.records(of: ["none"]).isEmpty)
        #expect(Set(book.openJobs) == ["many", "one"])
    }
}
