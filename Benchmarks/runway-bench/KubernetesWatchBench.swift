// What an idle controller asks of a Kubernetes API server holding N of its tasks, watching
// beside listing, and how soon a watching launcher sees a task end out of band.
//
// N inert Jobs (the test server's `inert:1` image: Running, no process) are started through the
// launcher. Then, over the same window of --idle-seconds, a pass every 30 s (the default
// resync): a listing launcher lists Jobs and Pods at each pass; a watching one (list+watch)
// answers passes from its copy and only renews its watches. Then pods are ended one at a time
// by the test server and the time until the watching launcher shows the task exited is taken.
import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Synchronization

func kubernetesWatchBenchmark(_ options: Options) async throws {
    guard TestKubernetes.kubeconfig != nil else {
        throw BenchError("set RUNWAY_TEST_KUBECONFIG to the kubeconfig of Tests/Servers/kube_apiserver.py, with an inert:1 image")
    }
    let cluster = try TestKubernetes.cluster()
    let namespace = try await cluster.namespace("watch-bench")
    var diagnostics: [Diagnostic] = []
    let config = ConfigNode.parseYAML("{namespace: \(namespace), grace: 1s}", path: "bench.yaml", diagnostics: &diagnostics)!
    let environment = ["KUBECONFIG": cluster.kubeconfig]
    let listing = KubernetesLauncher(environment: environment)
    let watching = KubernetesLauncher(environment: environment)
    let changes = Mutex(0)
    watching.notifyChanges { changes.withLock { $0 += 1 } }
    for launcher in [listing, watching] { _ = launcher.validate(config: config) }
    let controllerID = "watch-bench-\(getpid())"
    var handles: [TaskHandle] = []
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: TaskHandle.self) { group in
        for index in 1...options.tasks {
            if index > 16 { handles.append(try await group.next()!) }
            group.addTask {
                let owner = TaskOwner(job: "job-\(index)", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "bench")
                return try await listing.startTask(TaskSpec(
                    name: owner.taskName(), labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                    image: "inert:1", entrypoint: ["/bin/true"], config: config))
            }
        }
        for try await handle in group { handles.append(handle) }
    }
    _ = await RunningCommand.until(timeout: .seconds(600)) {
        ((try? await listing.listTasks(managedBy: controllerID)) ?? []).filter { $0.state == .running }.count == options.tasks
    }
    print("runway-bench kubernetes-watch: \(options.tasks) inert Jobs running (started in \(Int((ContinuousClock.now - started).timeInterval)) s)")

    // The idle window, a pass every 30 s, for each launcher.
    func idle(_ launcher: KubernetesLauncher) async throws -> (perMinute: Double, passes: Int) {
        let before = launcher.requestCount
        let window = ContinuousClock.now
        var passes = 0
        repeat {
            let tasks = try await launcher.listTasks(managedBy: controllerID)
            precondition(tasks.count == options.tasks, "a pass saw \(tasks.count) tasks")
            passes += 1
            try await Task.sleep(for: .seconds(min(30, options.idleSeconds)))
        } while ContinuousClock.now - window < .seconds(options.idleSeconds)
        let minutes = (ContinuousClock.now - window).timeInterval / 60
        return (Double(launcher.requestCount - before) / minutes, passes)
    }
    // The first pass starts the watches; until their first list is in, passes leave the platform
    // out (with 10,000 tasks that list takes longer than a pass waits).
    let watchStarted = ContinuousClock.now
    while (try? await watching.listTasks(managedBy: controllerID)) == nil {
        guard ContinuousClock.now - watchStarted < .seconds(300) else { throw BenchError("the watches did not become current in 5 minutes") }
        try await Task.sleep(for: .milliseconds(200))
    }
    print(String(format: "  the watches' first list of %d tasks was in after %.1f s", options.tasks, (ContinuousClock.now - watchStarted).timeInterval))
    let listed = try await idle(listing)
    let watched = try await idle(watching)
    print(String(format: "  idle, a pass every 30 s over %d s: listing %.1f requests/min (%d passes), watching %.1f requests/min (%d passes)",
        options.idleSeconds, listed.perMinute, listed.passes, watched.perMinute, watched.passes))

    // Out of band: a pod ended by the server; until the watching launcher shows its task exited.
    var latencies: [Double] = []
    let pods = try await cluster.names("/api/v1/namespaces/\(namespace)/pods")
    for pod in pods.prefix(min(20, pods.count)) {
        let before = changes.withLock { $0 }
        let ended = ContinuousClock.now
        try await cluster.request("POST", "/_test/pods/end", json: #"{"namespace":"\#(namespace)","name":"\#(pod)","exitCode":1}"#)
        var seen = false
        while !seen {
            if changes.withLock({ $0 }) != before {
                let job = String(pod.split(separator: "-").dropLast().joined(separator: "-"))
                seen = try await watching.listTasks(managedBy: controllerID).contains { $0.name == job && $0.state == .exited }
            }
            if !seen { try await Task.sleep(for: .milliseconds(2)) }
        }
        latencies.append((ContinuousClock.now - ended).timeInterval * 1000)
    }
    latencies.sort()
    print(String(format: "  a pod ended out of band -> its task seen exited by the watching launcher: median %.1f ms, p99 %.1f ms (%d pods)",
        percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.count))
    for handle in handles { try await listing.stopTask(handle) }
}
