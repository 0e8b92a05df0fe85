import Foundation
import Logging
import RunwayController
import RunwayLaunchers
import RunwayModel
import RunwayServer
import RunwayStore
import RunwayTestSupport
import Synchronization
import Testing

/// A start whose task reached the platform stays a start, whatever the store does next.
@Suite struct StartWriteTests {
    /// The store goes away between a task's start and the write of it (CI met this when
    /// PostgreSQL restarted under a controller): the attempt stays held with its job for the
    /// runner, which claims it, instead of failing a job whose task runs.
    @Test func aTaskStartTheStoreCouldNotTakeLeavesItsAttemptHeld() async throws {
        let scratch = TemporaryDirectory()
        let launcher = MemoryLauncher()
        let store = CountingStore(try SQLiteStateStore(directory: scratch.path))
        let holding = ReleaseLog()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let reconciler = Reconciler(
            configuration: ControllerConfiguration(serverURL: "http://127.0.0.1:9"), launchers: LauncherRegistry([launcher]),
            store: store, holding: holding, logger: logger)
        let desired = DesiredState(
            profiles: ["mem": RunnerProfile(name: "mem", plugin: MemoryLauncher.plugin, isDefault: true, location: .file("p.yaml"))],
            jobs: ["job": Job(spec: JobSpec(name: "job", command: ["true"], location: .file("job.yaml")), profile: "mem")])
        // Writes found by the attempt's id fail: the write of the task's start is one.
        store.refusesModify.withLock { $0 = { if case .id = $0 { true } else { false } } }
        func pass() async throws {
            var outcome = try await reconciler.pass(desired: desired, now: Date())
            while outcome.actionsInFlight > 0 {
                try await Task.sleep(for: .milliseconds(20))
                outcome.actionsInFlight = reconciler.actionsInFlight
            }
        }
        try await pass()
        #expect(launcher.starts.withLock { $0 }.count == 1)
        let record = try #require(try await store.jobRecords(job: "job").first)
        #expect(record.state == .held, "the task runs: its attempt waits for the runner, not failed: \(record)")
        let attempt = try #require(try await store.attempts(job: "job").first)
        #expect(attempt.isOpen, "\(attempt)")
        #expect(holding.released.withLock { $0 }.isEmpty, "the job stays held for its runner")
        // The store is back: the next passes neither fail nor start the job again.
        store.refusesModify.withLock { $0 = { _ in false } }
        try await pass()
        try await pass()
        #expect(launcher.starts.withLock { $0 }.count == 1)
        #expect(try await store.jobRecords(job: "job").first?.state == .held)
    }
}

/// A holding set that notes the attempts it was told to release.
final class ReleaseLog: JobHolding {
    let released = Mutex<Set<String>>([])
    func hold(_ job: ClaimedJob) {}
    func release(attempts: Set<String>) { released.withLock { $0.formUnion(attempts) } }
    func holdOnly(attempts: [String], readStartedAt: ContinuousClock.Instant, job: (String) -> ClaimedJob?) {}
    func allowToken(hash: String, attemptID: String) {}
    func replaceTokens(with hashes: [String: String], readStartedAt: ContinuousClock.Instant) {}
}
