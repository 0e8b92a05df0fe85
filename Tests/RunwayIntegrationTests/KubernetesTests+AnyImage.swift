import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

extension KubernetesTests {
    /// A job in a stock image (one holding nothing of Runway, running as root as most do): the pod
    /// gets an init container of the runner image that installs the bundle into an emptyDir, and
    /// the job's container runs in the job's image from that bundle, as Runway's default non-root
    /// user. The test server runs the init container to completion before the main container, as
    /// a kubelet does; the pod's statuses show that order.
    @Test func aJobRunsInAStockImageAfterTheBundlesInitContainer() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile()
            + workspace.job("stock", "while [ ! -f \(workspace.root)/go ]; do sleep 0.1; done; echo in a stock image", spec: "  image: stock/root:1\n"))
        let (controller, _) = try await setup.controller()
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            (try? await workspace.records())?["stock"]?.state == .running
        }, "\(controller.stderr)")
        let attempt = try #require(try await workspace.attempts("stock").first)
        let job = try await setup.cluster.object("/apis/batch/v1/namespaces/\(setup.namespace)/jobs/\(attempt.taskName)")
        let pod = ((job["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:]
        let inits = pod["initContainers"] as? [[String: Any]] ?? []
        let containers = pod["containers"] as? [[String: Any]] ?? []
        #expect(inits.count == 1 && inits.first?["image"] as? String == TestKubernetes.runnerImage)
        #expect(inits.first?["args"] as? [String] == ["--install", "/mnt/runway-bundle"])
        #expect(containers.first?["image"] as? String == "stock/root:1")
        #expect(containers.first?["command"] as? [String] == RunnerBundle.entrypoint && containers.first?["args"] as? [String] == ["runner"])
        let mounts = containers.first?["volumeMounts"] as? [[String: Any]] ?? []
        #expect(mounts.first?["mountPath"] as? String == RunnerBundle.path && mounts.first?["readOnly"] as? Bool == true)
        #expect((pod["volumes"] as? [[String: Any]])?.first?["emptyDir"] != nil)
        let security = pod["securityContext"] as? [String: Any] ?? [:]
        #expect(security["runAsNonRoot"] as? Bool == true && security["runAsUser"] as? Int == 65532, "\(security)")

        // The pod as the node ran it: the init container ended before the main one started.
        let pods = try await setup.cluster.object("/api/v1/namespaces/\(setup.namespace)/pods?labelSelector=\(TaskLabels.job)%3Dstock")
        let status = ((pods["items"] as? [[String: Any]])?.first?["status"] as? [String: Any]) ?? [:]
        let initState = ((status["initContainerStatuses"] as? [[String: Any]])?.first?["state"] as? [String: Any])?["terminated"] as? [String: Any]
        let mainState = ((status["containerStatuses"] as? [[String: Any]])?.first?["state"] as? [String: Any])?["running"] as? [String: Any]
        let finished = try #require(initState?["finishedAt"] as? String, "\(status)")
        let started = try #require(mainState?["startedAt"] as? String, "\(status)")
        #expect(initState?["exitCode"] as? Int == 0 && finished <= started, "\(status)")

        try "go".write(toFile: workspace.root + "/go", atomically: true, encoding: .utf8)
        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            (try? await workspace.records())?["stock"]?.state == .succeeded
        }, "\(controller.stderr)")
        #expect(try await RunwayExecutable.run(["logs", "stock", "--state-dir", workspace.state]).stdout == "in a stock image\n")
        #expect(await setup.leftoversAfterCleanup().isEmpty)
        kill(controller.pid, SIGTERM)
        #expect(await controller.wait(timeout: .seconds(60)).status == 0)
    }

    /// A profile that says `runAsNonRoot: true` itself takes the image's user, and a stock image
    /// that runs as root is then refused by the kubelet (CreateContainerConfigError, with its
    /// message); the attempt fails with that reason and `explain` says what to change. An image
    /// that names a numeric non-root user runs under the same profile.
    @Test func aRootImageUnderRunAsNonRootIsAConfigErrorThatExplainNames() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile(extra: ", podSecurityContext: {runAsNonRoot: true}")
            + workspace.job("root", "echo never", spec: "  image: stock/root:1\n")
            + workspace.job("nonroot", "echo fine", spec: "  image: stock/nonroot:1\n"))
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let records = try await workspace.records()
        #expect(records["nonroot"]?.state == .succeeded, "\(records["nonroot"]?.lastReason ?? "")")
        let reason = records["root"]?.lastReason ?? ""
        #expect(records["root"]?.state == .failed)
        #expect(reason.contains("CreateContainerConfigError: container has runAsNonRoot and image will run as root (pod: \""), "\(reason)")
        let explain = try await RunwayExecutable.run(["explain", "root", "--state-dir", workspace.state])
        #expect(explain.stdout.contains("container has runAsNonRoot and image will run as root"), "\(explain.stdout)")
        #expect(explain.stdout.contains("set runAsNonRoot: false to let it run as root"), "\(explain.stdout)")
        #expect(await setup.leftoversAfterCleanup().isEmpty)
    }

    /// runAsUser 0 under runAsNonRoot would be refused for every container: a validate error.
    @Test func rootUnderRunAsNonRootIsAValidateError() async throws {
        let setup = try await Setup()
        let path = try setup.workspace.write("all.yaml", setup.profile(extra: ", podSecurityContext: {runAsUser: 0, runAsNonRoot: true}"))
        let result = try await RunwayExecutable.run(["validate", setup.workspace.manifests], environment: setup.environment)
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):"), "\(result.stderr)")
        #expect(result.stderr.contains("runAsUser 0 under runAsNonRoot: true"), "\(result.stderr)")
    }
}
