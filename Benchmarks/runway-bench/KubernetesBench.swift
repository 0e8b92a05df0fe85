// The Kubernetes launcher's observation of a large fleet on the tests' API server (its
// `listTasks`: Jobs and their pods by label selector, 500 a page) beside one raw Job list request.
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
    try await observeFleet(Fleet(
        title: "runway-bench kubernetes: \(options.tasks) Jobs running on the tests' API server", tasks: options.tasks, launcher: launcher,
        requestCount: { launcher.requestCount },
        spec: { owner, controllerID in
            TaskSpec(
                name: owner.taskName(), labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                image: TestKubernetes.shellImage, entrypoint: ["/bin/sh", "-c", "sleep 600"], config: config)
        },
        floorName: "one raw Job list request",
        floor: { _ = try await cluster.request("GET", "/apis/batch/v1/namespaces/\(namespace)/jobs?limit=500") }))
}
