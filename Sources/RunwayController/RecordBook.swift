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
        var index: [JobKey: Int] = [:]
        /// The positions of each job's records.
        var byJob: [String: [Int]] = [:]
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
            if let at = index[record.key] {
                if !records[at].state.isTerminal { close(record.job) }
                records[at] = record
            } else {
                index[record.key] = records.count
                byJob[record.job, default: []].append(records.count)
                records.append(record)
            }
            if !record.state.isTerminal { open[record.job, default: 0] += 1 }
            changed?.insert(record.job)
        }

        private mutating func close(_ job: String) {
            let count = (open[job] ?? 1) - 1
            open[job] = count > 0 ? count : nil
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
                state.index.reserveCapacity(changed.count)
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
                for at in state.byJob[job] ?? [] where state.records[at].state == .running {
                    let record = state.records[at]
                    guard let time = beats[AttemptRecord.id(of: record)], record.lastHeartbeatAt.map({ $0 < time }) ?? true else { continue }
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
            jobs.sorted().flatMap { job in (state.byJob[job] ?? []).map { state.records[$0] } }
        }
    }
}
