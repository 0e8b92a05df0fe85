import Foundation
import Logging
import RunwayController
import RunwayLaunchers
import RunwayModel
import RunwayPlanner
import RunwayServer
import RunwayStore
import RunwayTestSupport
import Synchronization
import Testing

/// A platform in memory: what was started is listed as running until stopped.
final class MemoryLauncher: TaskLauncher {
    static let plugin = "memory"
    let tasks = Mutex<[String: ObservedTask]>([:])
    let starts = Mutex<[String]>([])

    func validate(config: ConfigNode) -> [Diagnostic] { [] }

    func startTask(_ task: TaskSpec) async throws -> TaskHandle {
        tasks.withLock { $0[task.name] = ObservedTask(id: task.name, name: task.name, plugin: Self.plugin, labels: task.labels, state: .running) }
        starts.withLock { $0.append(task.name) }
        return TaskHandle(plugin: Self.plugin, id: task.name, name: task.name)
    }

    func stopTask(_ handle: TaskHandle) async throws { _ = tasks.withLock { $0.removeValue(forKey: handle.id) } }

    func listTasks(managedBy controllerID: String) async throws -> [ObservedTask] { tasks.withLock { Array($0.values) } }

    func platformReason(_ handle: TaskHandle) async -> String? { nil }
}

/// The controller's passes over a scheduled job, its clock injected: a store, a platform in
/// memory, no minute waited.
@Suite struct ScheduledControllerTests {
    static let midnight = ISO8601DateFormatter().date(from: "2026-12-01T00:00:00Z")!

    @Test func aScheduleCrossingThreeTicksWhileTheControllerIsDownRunsOnceOnReturn() async throws {
        let scratch = TemporaryDirectory()
        let launcher = MemoryLauncher()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let reconciler = Reconciler(
            configuration: ControllerConfiguration(serverURL: "http://127.0.0.1:9"), launchers: LauncherRegistry([launcher]),
            store: try SQLiteStateStore(directory: scratch.path), holding: TestHolding(), logger: logger)
        var spec = JobSpec(name: "nightly", command: ["true"], location: .file("nightly.yaml"))
        spec.schedule = JobSchedule(cron: try CronSchedule("@hourly"))
        let desired = DesiredState(
            profiles: ["mem": RunnerProfile(
                name: "mem", plugin: MemoryLauncher.plugin, isDefault: true, startTimeout: .seconds(4 * 86_400), location: .file("p.yaml"))],
            jobs: ["nightly": Job(spec: spec, profile: "mem")])
        func pass(at seconds: TimeInterval) async throws {
            var outcome = try await reconciler.pass(desired: desired, now: Self.midnight.addingTimeInterval(seconds))
            while outcome.actionsInFlight > 0 {
                try await Task.sleep(for: .milliseconds(20))
                outcome.actionsInFlight = reconciler.actionsInFlight
            }
        }
        try await pass(at: 60)
        #expect(launcher.starts.withLock { $0 }.isEmpty)
        // Down from 00:01 to 03:20: the ticks at 01:00, 02:00 and 03:00 passed.
        try await pass(at: 3 * 3600 + 1200)
        try await pass(at: 3 * 3600 + 1210)
        try await pass(at: 3 * 3600 + 1220)
        #expect(launcher.starts.withLock { $0 } == ["runway-nightly-\(desired.jobs["nightly"]!.generation.short)-1"])
        let records = try await SQLiteStateStore(directory: scratch.path).jobRecords(job: "nightly").sorted { $0.run < $1.run }
        #expect(records.map(\.run) == [1, 2])
        #expect(records[0].state == .held, "started once, waiting for its runner: \(records[0])")
        #expect(records[0].scheduledFor == Self.midnight.addingTimeInterval(3 * 3600), "for the latest tick missed")
        #expect(records[1].awaitsTick && records[1].scheduledAfter == Self.midnight.addingTimeInterval(3 * 3600))
        #expect(Deadlines.next(desired: desired, records: records, heartbeatTimeout: .seconds(3600 * 24))
            == Self.midnight.addingTimeInterval(4 * 3600), "the controller sleeps until the next tick")
    }
}

/// A holding set that holds nothing (no runner connects in these tests).
struct TestHolding: JobHolding {
    func hold(_ job: ClaimedJob) {}
    func release(attempts: Set<String>) {}
    func holdOnly(attempts: [String], readStartedAt: ContinuousClock.Instant, job: (String) -> ClaimedJob?) {}
    func allowToken(hash: String, attemptID: String) {}
    func replaceTokens(with hashes: [String: String], readStartedAt: ContinuousClock.Instant) {}
}
