import Foundation
import RunwayModel
import RunwayStore
import Synchronization

/// The job records as the store holds them, kept between passes. Each read asks the store only
/// for the records written since the last one, whoever wrote them (this controller, the runner
/// API, an operator's request, another replica), and every `fullReload` reads them all again.
/// Records are never deleted (compaction keeps each one, marked), so what changed is all a read
/// needs. Reads run one at a time (one pass at a time).
final class RecordBook: Sendable {
    private struct State {
        var records: [JobRecord] = []
        var index: [JobKey: Int] = [:]
        var cursor: Int64?
        var lastFull: ContinuousClock.Instant?
    }

    let fullReload: Duration
    private let state = Mutex(State())

    init(fullReload: Duration) {
        self.fullReload = fullReload
    }

    /// Every record: those known, updated with the ones written since the last read.
    func read(from store: any StateStore) async throws -> [JobRecord] {
        let now = ContinuousClock.now
        let cursor = state.withLock { state in
            state.lastFull.map { now - $0 < fullReload } ?? false ? state.cursor : nil
        }
        let (changed, next) = try await store.jobRecords(changedSince: cursor)
        return state.withLock { state in
            if cursor == nil {
                state = State(records: [], index: [:], cursor: nil, lastFull: now)
                state.index.reserveCapacity(changed.count)
            }
            for record in changed {
                if let at = state.index[record.key] {
                    state.records[at] = record
                } else {
                    state.index[record.key] = state.records.count
                    state.records.append(record)
                }
            }
            state.cursor = next
            return state.records
        }
    }
}
