// The Kubernetes launcher's observation of a large fleet: with N Jobs running on the tests' API
// server, what one reconcile pass asks of the API (its `listTasks`: Jobs and their pods by label
// selector, 500 a page) — requests counted and time measured (median of 5 after a warm-up) —
// beside the floor of one raw list request for the same Jobs.
import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport

func kubernetesBenchmark(_ options: Options) async throws {
    guard TestKubernetes.kubeconfig != nil else {
        throw BenchError("set RUNWAY_TEST_KUBECONFIG to the kubeconfig of Tests/Servers/kube_apiserver.py (scripts/test.sh shows how to start it)")
    }
    let cluster = try TestKubernetes.cluster()
    let namespace = try await cluster.namespace("bench")
    var diagnostics: [Diagnostic] = []
    let config = ConfigNode.parseYAML("{namespace: \(namespace), grace: 1s}", path: "bench.yaml", diagnostics: &diagnostics)!
    let launcher = KubernetesLauncher(environment: ["KUBECONFIG": cluster.kubeconfig])
    _ = launcher.validate(config: config)
    let controllerID = "bench-\(getpid())"
    var handles: [TaskHandle] = []
    for index in 1...options.tasks {
        let owner = TaskOwner(job: "job-\(index)", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "bench")
        handles.append(try await launcher.startTask(TaskSpec(
            name: owner.taskName(), labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
            image: TestKubernetes.shellImage, entrypoint: ["/bin/sh", "-c", "sleep 600"], config: config)))
    }
    _ = await RunningCommand.until(timeout: .seconds(120)) {
        ((try? await launcher.listTasks(managedBy: controllerID)) ?? []).filter { $0.state == .running }.count == options.tasks
    }
    let (times, requests, running) = try await observationPasses(requestCount: { launcher.requestCount }) {
        try await launcher.listTasks(managedBy: controllerID).filter { $0.state == .running }.count
    }
    var floor: [Double] = []
    let selector = "runway.io%2Fmanaged-by%3D\(controllerID)"
    for _ in 0...5 {
        let started = ContinuousClock.now
        _ = try await cluster.request("GET", "/apis/batch/v1/namespaces/\(namespace)/jobs?labelSelector=\(selector)&limit=500")
        floor.append((ContinuousClock.now - started).timeInterval * 1000)
    }
    floor.removeFirst()
    print("runway-bench kubernetes: \(options.tasks) Jobs running on the tests' API server")
    print(String(format: "  one pass's observation: %d requests, median %.1f ms (%d tasks running)", requests, percentile(times, 0.5), running))
    print(String(format: "  floor: one raw Job list request: median %.1f ms; the pass costs %.1fx it", percentile(floor, 0.5), percentile(times, 0.5) / percentile(floor, 0.5)))
    for handle in handles { try await launcher.stopTask(handle) }
}
