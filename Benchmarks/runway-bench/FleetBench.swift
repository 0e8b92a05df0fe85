// What one reconcile pass asks of a platform that holds a large fleet: start N tasks through the
// launcher, then time its `listTasks` (a warm-up, then the median of 5) and count its requests,
// beside a floor of one raw list request to the same API.
import Foundation
import RunwayLaunchers
import RunwayModel
import RunwayTestSupport

struct Fleet {
    /// Printed first: what ran where.
    var title: String
    var tasks: Int
    var launcher: any TaskLauncher
    var requestCount: () -> Int
    /// The spec of task `owner`, for `controllerID`.
    var spec: (TaskOwner, String) -> TaskSpec
    /// Wait for every task to run before measuring (platforms that run them).
    var waitsForRunning = true
    /// Stop every task afterwards.
    var stopsAfterwards = true
    var floorName: String
    var floor: () async throws -> Void
}

func observeFleet(_ fleet: Fleet) async throws {
    let controllerID = "bench-\(getpid())"
    let launcher = fleet.launcher
    var handles: [TaskHandle] = []
    for index in 1...fleet.tasks {
        let owner = TaskOwner(job: "job-\(index)", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "bench")
        handles.append(try await launcher.startTask(fleet.spec(owner, controllerID)))
    }
    if fleet.waitsForRunning {
        _ = await RunningCommand.until(timeout: .seconds(120)) {
            ((try? await launcher.listTasks(managedBy: controllerID)) ?? []).filter { $0.state == .running }.count == fleet.tasks
        }
    }
    var times: [Double] = []
    var requests = 0
    var counted = 0
    for run in 0...5 {
        let before = fleet.requestCount()
        let started = ContinuousClock.now
        let tasks = try await launcher.listTasks(managedBy: controllerID)
        counted = fleet.waitsForRunning ? tasks.filter { $0.state == .running }.count : tasks.count
        if run > 0 { times.append((ContinuousClock.now - started).timeInterval * 1000) }
        requests = fleet.requestCount() - before
    }
    var floor: [Double] = []
    for _ in 0...5 {
        let started = ContinuousClock.now
        try await fleet.floor()
        floor.append((ContinuousClock.now - started).timeInterval * 1000)
    }
    floor.removeFirst()
    print(fleet.title)
    print(String(format: "  one pass's observation: %d requests, median %.1f ms (%d tasks %@)", requests, percentile(times, 0.5), counted,
        fleet.waitsForRunning ? "running" : "listed"))
    print(String(format: "  floor: %@: median %.1f ms; the pass costs %.1fx it", fleet.floorName, percentile(floor, 0.5),
        percentile(times, 0.5) / percentile(floor, 0.5)))
    if fleet.stopsAfterwards {
        for handle in handles { try await launcher.stopTask(handle) }
    }
}
