import Foundation
import RunwayModel
import RunwayStore
import Synchronization

/// A store that counts every call it passes on to the real one: a test can then say that some
/// requests touched the store not at all (no read, no transaction). It can also refuse the
/// `modify` calls a test names, as a store that went away would.
final class CountingStore: StateStore {
    let inner: any StateStore
    private let calls = Mutex<[String: Int]>([:])
    /// `modify` calls whose lookup this says yes to fail, without reaching the store.
    let refusesModify = Mutex<@Sendable (AttemptLookup) -> Bool>({ _ in false })

    init(_ inner: any StateStore) { self.inner = inner }

    /// Every call so far, by method.
    var counts: [String: Int] { calls.withLock { $0 } }
    var total: Int { counts.values.reduce(0, +) }

    private func count(_ method: String = #function) { calls.withLock { $0[method, default: 0] += 1 } }

    func jobRecords() async throws -> [JobRecord] { count(); return try await inner.jobRecords() }
    func jobRecords(changedSince cursor: Int64?) async throws -> (records: [JobRecord], cursor: Int64) {
        count()
        return try await inner.jobRecords(changedSince: cursor)
    }
    func jobRecords(job: String) async throws -> [JobRecord] { count(); return try await inner.jobRecords(job: job) }
    func attempts(job: String) async throws -> [AttemptRecord] { count(); return try await inner.attempts(job: job) }
    func openAttempts() async throws -> [AttemptRecord] { count(); return try await inner.openAttempts() }
    func attempt(id: String) async throws -> AttemptRecord? { count(); return try await inner.attempt(id: id) }
    func liveTokenHashes(completedSince: Date) async throws -> [String: String] {
        count()
        return try await inner.liveTokenHashes(completedSince: completedSince)
    }
    func events(job: String) async throws -> [JobEvent] { count(); return try await inner.events(job: job) }
    func logChunks(attemptID: String) async throws -> [LogChunk] { count(); return try await inner.logChunks(attemptID: attemptID) }
    var keepsLogOutput: Bool { inner.keepsLogOutput }
    var isSingleHost: Bool { inner.isSingleHost }
    func logOutput(attemptID: String, range: Range<Int>) async throws -> [UInt8] {
        count()
        return try await inner.logOutput(attemptID: attemptID, range: range)
    }
    func apply(_ change: StoreChange) async throws { count(); try await inner.apply(change) }
    func request(_ request: JobRequest) async throws -> JobRequest { count(); return try await inner.request(request) }
    func openRequests() async throws -> [JobRequest] { count(); return try await inner.openRequests() }
    func requests(job: String) async throws -> [JobRequest] { count(); return try await inner.requests(job: job) }
    func compact(_ runs: [JobKey]) async throws { count(); try await inner.compact(runs) }
    func acquireLease(_ name: String, holder: String, duration: Duration, now: Date?, localNow: Date) async throws -> Lease? {
        count()
        return try await inner.acquireLease(name, holder: holder, duration: duration, now: now, localNow: localNow)
    }
    func releaseLease(_ name: String, holder: String) async throws { count(); try await inner.releaseLease(name, holder: holder) }
    func lease(_ name: String, localNow: Date) async throws -> Lease? { count(); return try await inner.lease(name, localNow: localNow) }
    func controllerFacts() async throws -> [String: String] { count(); return try await inner.controllerFacts() }
    func publish(_ facts: [String: String?]) async throws { count(); try await inner.publish(facts) }
    func recordHeartbeats(_ beats: [String: Date]) async throws { count(); try await inner.recordHeartbeats(beats) }
    func modify<T: Sendable>(
        _ lookup: AttemptLookup, _ decide: @escaping @Sendable (AttemptRecord?, JobRecord?) throws -> (StoreChange, T)
    ) async throws -> T {
        count()
        if refusesModify.withLock({ $0 })(lookup) {
            throw StoreError(operation: "modify", cause: CocoaError(.fileWriteUnknown))
        }
        return try await inner.modify(lookup, decide)
    }
}
