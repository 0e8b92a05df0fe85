import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

extension NomadTests {
    /// A job in a stock image on the docker driver: the job Runway registers has a `prestart`
    /// task of the runner image that installs the bundle into the shared allocation directory,
    /// and the `runner` task runs the job's image from that bundle. The test client runs them in
    /// Nomad's order; the allocation's task events show the prestart task done before the main
    /// task started. On raw_exec, a job image is a validate error at its line.
    @Test func aJobRunsInAStockImageAfterThePrestartTask() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile(driver: "docker")
            + workspace.job("stock", "while [ ! -f \(workspace.root)/go ]; do sleep 0.1; done; echo in a stock image", spec: "  image: stock/root:1\n"))
        let (controller, _) = try await setup.controller()
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            (try? await workspace.records())?["stock"]?.state == .running
        }, "\(controller.stderr)")
        let attempt = try #require(try await workspace.attempts("stock").first)
        let query = "namespace=\(setup.namespace)"
        let job = try JSONSerialization.jsonObject(with: Data(try await setup.server.request("GET", "/v1/job/\(attempt.taskName)?\(query)").utf8)) as? [String: Any]
        let tasks = ((job?["TaskGroups"] as? [[String: Any]])?.first?["Tasks"] as? [[String: Any]]) ?? []
        let prestart = try #require(tasks.first { $0["Name"] as? String == "runway-bundle" }, "\(tasks)")
        let runner = try #require(tasks.first { $0["Name"] as? String == "runner" }, "\(tasks)")
        #expect((prestart["Lifecycle"] as? [String: Any])?["Hook"] as? String == "prestart")
        #expect((prestart["Config"] as? [String: Any])?["image"] as? String == TestKubernetes.runnerImage)
        #expect((runner["Config"] as? [String: Any])?["image"] as? String == "stock/root:1")
        #expect((runner["Config"] as? [String: Any])?["entrypoint"] as? [String] == RunnerBundle.entrypoint(at: "/alloc/runway-bundle"))

        let allocations = try JSONSerialization.jsonObject(
            with: Data(try await setup.server.request("GET", "/v1/job/\(attempt.taskName)/allocations?\(query)").utf8)) as? [[String: Any]] ?? []
        let states = allocations.first?["TaskStates"] as? [String: [String: Any]] ?? [:]
        func events(_ task: String) -> [(String, Int)] {
            (states[task]?["Events"] as? [[String: Any]] ?? []).map { ($0["Type"] as? String ?? "", $0["Time"] as? Int ?? 0) }
        }
        let installed = try #require(events("runway-bundle").first { $0.0 == "Terminated" }, "\(states)")
        let started = try #require(events("runner").first { $0.0 == "Started" }, "\(states)")
        #expect(installed.1 <= started.1, "the prestart task ended before the main task started: \(states)")
        #expect(states["runway-bundle"]?["Failed"] as? Bool == false)

        try "go".write(toFile: workspace.root + "/go", atomically: true, encoding: .utf8)
        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            (try? await workspace.records())?["stock"]?.state == .succeeded
        }, "\(controller.stderr)")
        #expect(try await RunwayExecutable.run(["logs", "stock", "--state-dir", workspace.state]).stdout == "in a stock image\n")
        #expect(await setup.leftovers().isEmpty)
        kill(controller.pid, SIGTERM)
        #expect(await controller.wait(timeout: .seconds(60)).status == 0)
    }

    @Test func aJobImageOnRawExecIsAValidateError() async throws {
        let setup = try await Setup()
        let path = try setup.workspace.write("all.yaml", setup.profile() + setup.workspace.job("x", "true", spec: "  image: stock/root:1\n"))
        let result = try await RunwayExecutable.run(["validate", setup.workspace.manifests, "--secret-dirs", setup.secretDirectories])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):"), "\(result.stderr)")
        #expect(result.stderr.contains("job 'x' sets 'spec.image', but its profile 'nomad' runs the raw_exec driver, which runs commands on the client, in no image"),
            "\(result.stderr)")
    }
}
