import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

/// The controller watches its Jobs and Pods instead of listing them at every pass.
extension KubernetesTests {
    /// A task that ends out of band, with no runner to say so (an inert pod, ended by the test
    /// server), is seen although no resync is due (10m) and the start timeout is far (10m): only
    /// the watch can wake the pass that fails its attempt. Once the watches are open, the passes
    /// list nothing.
    @Test func aTaskThatEndsOutOfBandIsSeenByTheWatchWithoutAResync() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile(image: "inert:1", startTimeout: "10m") + workspace.job("idle", "echo never runs"))
        let (controller, _) = try await RunningCommand.serving(directory: workspace.root, environment: setup.environment) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)",
             "--controller-id", setup.controllerID, "--resync", "10m"]
        }
        defer { kill(controller.pid, SIGKILL) }
        let podsPath = "/api/v1/namespaces/\(setup.namespace)/pods"
        var pod = ""
        let watching = await RunningCommand.until(timeout: .seconds(60)) {
            pod = (try? await setup.cluster.names(podsPath))?.first ?? ""
            let requests = (try? await setup.requests()) ?? []
            return !pod.isEmpty && setup.count(requests, verb: "watch", resource: "jobs") > 0 && setup.count(requests, verb: "watch", resource: "pods") > 0
        }
        #expect(watching, "the Job's pod exists and both watches are open: \(controller.stderr)")
        // The pass that started the task may still list; wait for the pod to run, then count.
        #expect(await RunningCommand.until(timeout: .seconds(30)) {
            ((try? await setup.cluster.object("\(podsPath)/\(pod)"))?["status"] as? [String: Any])?["phase"] as? String == "Running"
        })
        // Steady: no pass lists any more (under load the watches may take a moment to answer).
        var listsBefore = -1
        _ = await RunningCommand.until(timeout: .seconds(60)) {
            let lists = setup.count((try? await setup.requests()) ?? [], verb: "list", resource: "jobs")
            defer { listsBefore = lists }
            try? await Task.sleep(for: .seconds(1.5))
            return lists == listsBefore
        }
        try await setup.cluster.request("POST", "/_test/pods/end", json: #"{"namespace":"\#(setup.namespace)","name":"\#(pod)","exitCode":3}"#)
        let failed = await RunningCommand.until(timeout: .seconds(60)) { (try? await workspace.records())?["idle"]?.state == .failed }
        #expect(failed, "the attempt failed once its pod ended: \(controller.stderr)")
        let reason = try await workspace.attempts("idle").first?.reason ?? ""
        #expect(reason.contains("task-lost (its task exited"), "\(reason)")
        let requests = try await setup.requests()
        let listsAfter = setup.count(requests, verb: "list", resource: "jobs")
        let jobCalls = requests.filter { $0["resource"] as? String == "jobs" }.map { "\($0["verb"] ?? "") \($0["status"] ?? "") \($0["at"] ?? "")" }
        #expect(listsAfter == listsBefore, "the watch told the controller; it listed nothing (\(listsBefore) lists before, \(listsAfter) after): \(jobCalls) \(controller.stderr)")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "the Job, its pod and its Secret are gone: \(left)")
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }
}
