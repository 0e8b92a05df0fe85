// The Nomad launcher's observation of a large fleet: with N jobs running on the tests' Nomad,
// what one reconcile pass asks of the API (its `listTasks`: the job list with Meta and summaries,
// 500 a page; a further read only for jobs that ended or wait unplaced) — requests counted and
// time measured (median of 5 after a warm-up) — beside the floor of one raw job list request.
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
    let config = ConfigNode.parseYAML(server.config(namespace: namespace, extra: ", driver: raw_exec, grace: 1s"), path: "bench.yaml", diagnostics: &diagnostics)!
    let launcher = NomadLauncher(environment: [:])
    _ = launcher.validate(config: config)
    let controllerID = "bench-\(getpid())"
    var handles: [TaskHandle] = []
    for index in 1...options.tasks {
        let owner = TaskOwner(job: "job-\(index)", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "bench")
        handles.append(try await launcher.startTask(TaskSpec(
            name: owner.taskName(), labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
            entrypoint: ["/bin/sh", "-c", "sleep 600"], config: config)))
    }
    _ = await RunningCommand.until(timeout: .seconds(120)) {
        ((try? await launcher.listTasks(managedBy: controllerID)) ?? []).filter { $0.state == .running }.count == options.tasks
    }
    let (times, requests, running) = try await observationPasses(requestCount: { launcher.requestCount }) {
        try await launcher.listTasks(managedBy: controllerID).filter { $0.state == .running }.count
    }
    var floor: [Double] = []
    for _ in 0...5 {
        let started = ContinuousClock.now
        _ = try await server.request("GET", "/v1/jobs?namespace=\(namespace)&prefix=runway-&meta=true&per_page=500")
        floor.append((ContinuousClock.now - started).timeInterval * 1000)
    }
    floor.removeFirst()
    print("runway-bench nomad: \(options.tasks) jobs running on the tests' Nomad")
    print(String(format: "  one pass's observation: %d requests, median %.1f ms (%d tasks running)", requests, percentile(times, 0.5), running))
    print(String(format: "  floor: one raw job list request: median %.1f ms; the pass costs %.1fx it", percentile(floor, 0.5), percentile(times, 0.5) / percentile(floor, 0.5)))
    for handle in handles { try await launcher.stopTask(handle) }
}
