// The Nomad launcher's observation of a large fleet on the tests' Nomad (its `listTasks`: the job
// list with Meta and summaries, 500 a page; a further read only for jobs that ended or wait
// unplaced) beside one raw job list request.
import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport

func nomadBenchmark(_ options: Options) async throws {
    guard TestNomad.directory != nil else {
        throw BenchError("set RUNWAY_TEST_NOMAD_DIR to the state directory of Tests/Servers/nomad_apiserver.py (scripts/test.sh shows how to start it)")
    }
    let server = try TestNomad.server()
    let namespace = try await server.namespace("bench")
    var diagnostics: [Diagnostic] = []
    let config = ConfigNode.parseYAML(
        server.config(namespace: namespace, extra: ", driver: raw_exec, grace: 1s"), path: "bench.yaml", diagnostics: &diagnostics)!
    let launcher = NomadLauncher(environment: [:])
    _ = launcher.validate(config: config)
    try await observeFleet(Fleet(
        title: "runway-bench nomad: \(options.tasks) jobs running on the tests' Nomad", tasks: options.tasks, launcher: launcher,
        requestCount: { launcher.requestCount },
        spec: { owner, controllerID in
            TaskSpec(
                name: owner.taskName(), labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                entrypoint: ["/bin/sh", "-c", "sleep 600"], config: config)
        },
        floorName: "one raw job list request",
        floor: { _ = try await server.request("GET", "/v1/jobs?namespace=\(namespace)&prefix=runway-&meta=true&per_page=500") }))
}
