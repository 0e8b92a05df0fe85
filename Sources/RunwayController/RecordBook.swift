import Foundation
import RunwayModel
import RunwayStore
import Synchronization

/// The job records as the store holds them, kept between passes. Each read asks the store only
/// for the records written since the last one, whoever wrote them (this controller, the runner
/// API, an operator's request, another replica), and every `fullReload` reads them all again.
/// Records are never deleted (compaction keeps each one, marked), so what changed is all a read
/// needs. Reads run one at a time (one pass at a time).
///
/// It also keeps what a focused pass needs (see ``Focus``): the jobs whose records changed
/// since they were last taken, the jobs with an open run, and each job's records.
final class RecordBook: Sendable {
    private struct State {
        var records: [JobRecord] = []
        /// The positions of each job's records (one table, not one by key and one by job: a
        /// controller keeps 100,000 jobs' records).
        var byJob: [String: Positions] = [:]
        /// How many runs of each job are open (not finished); only jobs with some.
        var open: [String: Int] = [:]
        /// Jobs whose records changed since ``takeChanged()``; nil: every job (a full read).
        var changed: Set<String>? = nil
        var cursor: Int64?
        var lastFull: ContinuousClock.Instant?
        /// One more for every record put.
        var version = 0

        mutating func put(_ record: JobRecord) {
            version += 1
            if let at = position(of: record.key) {
                if !records[at].state.isTerminal { close(record.job) }
                records[at] = record
            } else {
                byJob[record.job] = byJob[record.job].map { $0.adding(records.count) } ?? .one(records.count)
                records.append(record)
            }
            if !record.state.isTerminal { open[record.job, default: 0] += 1 }
            changed?.insert(record.job)
        }

        func position(of key: JobKey) -> Int? {
            var found: Int?
            byJob[key.job]?.forEach { at in
                if found == nil, records[at].generation == key.generation, records[at].run == key.run { found = at }
            }
            return found
        }

        private mutating func close(_ job: String) {
            let count = (open[job] ?? 1) - 1
            open[job] = count > 0 ? count : nil
        }
    }

    /// The positions of one job's records: nearly every job has one, kept without an array.
    private enum Positions {
        case one(Int)
        case many([Int])

        func adding(_ at: Int) -> Positions {
            switch self {
            case .one(let first): .many([first, at])
            case .many(let all): .many(all + [at])
            }
        }

        func forEach(_ body: (Int) -> Void) {
            switch self {
            case .one(let at): body(at)
            case .many(let all): all.forEach(body)
            }
        }
    }

    let fullReload: Duration
    private let state = Mutex(State())

    init(fullReload: Duration) {
        self.fullReload = fullReload
    }

    /// Updates the records known with the ones written since the last read.
    func read(from store: any StateStore) async throws {
        let now = ContinuousClock.now
        let cursor = state.withLock { state in
            state.lastFull.map { now - $0 < fullReload } ?? false ? state.cursor : nil
        }
        let (changed, next) = try await store.jobRecords(changedSince: cursor)
        return state.withLock { state in
            if cursor == nil {
                state = State(lastFull: now, version: state.version + 1)
                state.byJob.reserveCapacity(changed.count)
                state.records.reserveCapacity(changed.count)
            }
            for record in changed { state.put(record) }
            state.cursor = next
        }
    }

    /// A record as the store holds it now (read by a compare-and-set that found it changed).
    func refresh(_ record: JobRecord) {
        state.withLock { $0.put(record) }
    }

    /// The next read reads every record (a new leader's: another controller wrote heartbeats,
    /// which no read of the changed records brings).
    func readEverythingNext() {
        state.withLock { $0.lastFull = nil }
    }

    /// Every record, as of the last read (a full pass's; a focused one takes ``records(of:)``:
    /// holding this array while the next read changes a record copies all of them).
    var all: [JobRecord] { state.withLock { $0.records } }

    /// Heartbeats this controller wrote (attempt id → time), noted on the open runs they are
    /// for: the store does not count a heartbeat as a record change (a read would otherwise
    /// return every live run's record after each batch), so the book keeps them up to date
    /// itself, as the store's write did: only a running record's, and only a later time.
    func noteHeartbeats(_ beats: [String: Date]) {
        guard !beats.isEmpty else { return }
        state.withLock { state in
            for job in state.open.keys {
                state.byJob[job]?.forEach { at in
                    let record = state.records[at]
                    guard record.state == .running, let time = beats[AttemptRecord.id(of: record)],
                        record.lastHeartbeatAt.map({ $0 < time }) ?? true
                    else { return }
                    state.records[at].lastHeartbeatAt = time
                    state.version += 1
                }
            }
        }
    }

    /// The jobs whose records changed since the last call (nil: every job, after a full read),
    /// starting the next count.
    func takeChanged() -> Set<String>? {
        state.withLock { state in
            defer { state.changed = [] }
            return state.changed
        }
    }

    /// Changes with every record the book takes (what a caller compares to see it unchanged).
    var version: Int { state.withLock { $0.version } }

    /// The jobs with a run that is not finished.
    var openJobs: [String] { state.withLock { Array($0.open.keys) } }

    /// The records of `jobs`, as of the last read.
    func records(of jobs: Set<String>) -> [JobRecord] {
        state.withLock { state in
            var taken: [JobRecord] = []
            taken.reserveCapacity(jobs.count)
            for job in jobs.sorted() { state.byJob[job]?.forEach { taken.append(state.records[$0]) } }
            return taken
        }
    }
}
