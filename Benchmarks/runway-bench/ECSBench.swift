// The ECS launcher's observation of a large fleet on moto's ECS (its `listTasks`: all pages of
// ListTasks for RUNNING and STOPPED, DescribeTasks 100 at a time) beside one ListTasks page.
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
    try await observeFleet(Fleet(
        title: "runway-bench ecs: \(options.tasks) tasks running on moto's ECS", tasks: options.tasks, launcher: launcher,
        requestCount: { launcher.requestCount },
        spec: { owner, controllerID in
            TaskSpec(
                name: owner.taskName(), labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                image: "runway-runner:dev", arguments: ["runner"], config: config)
        },
        waitsForRunning: false, stopsAfterwards: false, floorName: "one ListTasks page",
        floor: {
            _ = try await TestMoto.call(
                world.url, target: "AmazonEC2ContainerServiceV20141113.ListTasks", json: #"{"cluster":"\#(world.cluster)","maxResults":100}"#)
        }))
}
