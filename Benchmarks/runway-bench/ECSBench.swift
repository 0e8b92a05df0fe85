// The ECS launcher's observation of a large fleet: with N tasks running on moto's ECS, what one
// reconcile pass asks of ECS (its `listTasks`: all pages of ListTasks for RUNNING and STOPPED,
// DescribeTasks 100 at a time) — requests counted and time measured (median of 5 after a
// warm-up) — beside the floor of one ListTasks page.
import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport

func ecsBenchmark(_ options: Options) async throws {
    guard TestMoto.url != nil else { throw BenchError("set RUNWAY_TEST_MOTO_URL to a moto_server (moto_server -H 127.0.0.1 -p PORT)") }
    let world = try await TestMoto.ecsWorld()
    var diagnostics: [Diagnostic] = []
    let config = ConfigNode.parseYAML(world.configYAML, path: "bench.yaml", diagnostics: &diagnostics)!
    let launcher = ECSLauncher(environment: TestMoto.environment)
    _ = launcher.validate(config: config)
    let controllerID = "bench-\(getpid())"
    for index in 1...options.tasks {
        let owner = TaskOwner(job: "job-\(index)", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "bench")
        _ = try await launcher.startTask(TaskSpec(
            name: owner.taskName(), labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
            image: "runway-runner:dev", arguments: ["runner"], config: config))
    }
    let (times, requests, listed) = try await observationPasses(requestCount: { launcher.requestCount }) {
        try await launcher.listTasks(managedBy: controllerID).count
    }
    var floor: [Double] = []
    for _ in 0...5 {
        let started = ContinuousClock.now
        _ = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.ListTasks", json: #"{"cluster":"\#(world.cluster)","maxResults":100}"#)
        floor.append((ContinuousClock.now - started).timeInterval * 1000)
    }
    floor.removeFirst()
    print("runway-bench ecs: \(options.tasks) tasks running on moto's ECS")
    print(String(format: "  one pass's observation: %d requests, median %.1f ms (%d tasks listed)", requests, percentile(times, 0.5), listed))
    print(String(format: "  floor: one ListTasks page: median %.1f ms; the pass costs %.1fx it", percentile(floor, 0.5), percentile(times, 0.5) / percentile(floor, 0.5)))
}

/// One reconcile pass's observation, timed: a warm-up, then 5 passes (their times in ms), the
/// requests the last one sent, and what it counted.
func observationPasses(requestCount: () -> Int, _ pass: () async throws -> Int) async throws -> (times: [Double], requests: Int, counted: Int) {
    var times: [Double] = []
    var requests = 0
    var counted = 0
    for run in 0...5 {
        let before = requestCount()
        let started = ContinuousClock.now
        counted = try await pass()
        if run > 0 { times.append((ContinuousClock.now - started).timeInterval * 1000) }
        requests = requestCount() - before
    }
    return (times, requests, counted)
}
