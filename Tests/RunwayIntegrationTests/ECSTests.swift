import Foundation
import Hummingbird
import RunwayHTTP
import RunwayModel
import RunwayTestSupport
import Synchronization
import Testing

/// `runway controller` with `plugin: ecs` against moto. moto runs no containers, so the test
/// plays the ECS agent: it reads each started task's overrides back through `DescribeTasks`
/// and runs its command (`runway runner` with that environment) as a local process, which
/// connects back and takes its job; a task stopped through the API has its process killed.
@Suite(.leavesNoProcesses, .serialized, .enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset); scripts/test.sh starts one"))
struct ECSTests {
    /// The test's ECS agent: one `runway runner` per RUNNING task it has not run yet.
    final class Agent: @unchecked Sendable {
        struct Described: Decodable {
            struct Task: Decodable {
                struct Overrides: Decodable {
                    struct Container: Decodable {
                        struct Variable: Decodable { var name: String; var value: String }
                        var environment: [Variable]?
                    }
                    var containerOverrides: [Container]?
                }
                struct Tag: Decodable { var key: String; var value: String }
                var taskArn: String
                var desiredStatus: String?
                var lastStatus: String?
                var stoppedReason: String?
                var overrides: Overrides?
                var tags: [Tag]?
            }
            var tasks: [Task]?
        }
        struct Listed: Decodable { var taskArns: [String] }

        let world: TestMoto.ECSWorld
        let directory: String
        /// Jobs whose tasks are never run (their runner never connects).
        let ignoring: Set<String>
        /// Each task's runner, started with `RWCONTAINER=<task ARN>` so that its "container" (the
        /// runner and everything it starts) can be ended as a runtime ends one.
        private let runners = Mutex<[String: RunningCommand]>([:])
        private let loop = Mutex<Task<Void, Never>?>(nil)

        init(world: TestMoto.ECSWorld, directory: String, ignoring: Set<String>) {
            self.world = world
            self.directory = directory
            self.ignoring = ignoring
        }

        func start() {
            let task = Task {
                while !Task.isCancelled {
                    try? await self.step()
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            loop.withLock { $0 = task }
        }

        func stop() {
            loop.withLock { $0?.cancel() }
            for arn in runners.withLock({ Array($0.keys) }) { removeContainer(arn) }
        }

        func describe() async throws -> [Described.Task] {
            var arns: [String] = []
            for status in ["RUNNING", "STOPPED"] {
                let listed = try await TestMoto.call(
                    world.url, target: "AmazonEC2ContainerServiceV20141113.ListTasks",
                    json: #"{"cluster":"\#(world.cluster)","desiredStatus":"\#(status)"}"#)
                arns += try JSONDecoder().decode(Listed.self, from: Data(listed.utf8)).taskArns
            }
            guard !arns.isEmpty else { return [] }
            struct Describe: Encodable { var cluster: String; var tasks: [String]; var include = ["TAGS"] }
            let body = String(decoding: try JSONEncoder().encode(Describe(cluster: world.cluster, tasks: arns)), as: UTF8.self)
            let described = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.DescribeTasks", json: body)
            return try JSONDecoder().decode(Described.self, from: Data(described.utf8)).tasks ?? []
        }

        /// Ends a task's container: every process in it, not only the runner (SIGKILL, as
        /// `docker kill` does), and reaps the runner.
        private func removeContainer(_ arn: String) {
            for pid in processes(withEnvironment: "RWCONTAINER=\(arn)") { kill(pid, SIGKILL) }
            if let runner = runners.withLock({ $0[arn] }) { _ = runner.hasExited }
        }

        private func step() async throws {
            for task in try await describe() {
                let job = task.tags?.first { $0.key == "runway.io/job" }?.value ?? ""
                let running = runners.withLock { $0[task.taskArn] }
                if task.desiredStatus == "STOPPED" {
                    if running != nil { removeContainer(task.taskArn) }  // the container is gone
                    continue
                }
                guard running == nil, !ignoring.contains(job) else { continue }
                var environment: [String: String] = [:]
                for variable in task.overrides?.containerOverrides?.first?.environment ?? [] { environment[variable.name] = variable.value }
                environment["RWCONTAINER"] = task.taskArn
                let runner = try RunningCommand(["runner"], directory: directory, environment: environment)
                runners.withLock { $0[task.taskArn] = runner }
            }
        }
    }

    func profile(_ name: String, world: TestMoto.ECSWorld, isDefault: Bool, startTimeout: String) -> String {
        """
        ---
        apiVersion: runway/v1
        kind: RunnerProfile
        metadata: {name: \(name)}
        spec:
          plugin: ecs
          default: \(isDefault)
          image: runway-runner:dev
          startTimeout: \(startTimeout)
          config: \(world.configYAML)

        """
    }

    @Test func aJobsWholeLifeGoesThroughTheECSAPI() async throws {
        let world = try await TestMoto.ecsWorld()
        let workspace = try Workspace()
        try workspace.write("all.yaml",
            profile("ecs", world: world, isDefault: true, startTimeout: "60s")
            + profile("ecs-silent", world: world, isDefault: false, startTimeout: "3s")
            + workspace.job("hello", "echo hello through ecs")
            + workspace.job("stopped", #"if [ "$RUNWAY_ATTEMPT" = 1 ]; then sleep 120; fi; echo second attempt"#, retries: 1)
            + workspace.job("silent", "echo never", profile: "ecs-silent"))
        let agent = Agent(world: world, directory: workspace.root, ignoring: ["silent"])
        agent.start()
        defer { agent.stop() }
        let (controller, _) = try await RunningCommand.serving(directory: workspace.root, environment: TestMoto.environment) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)",
             "--controller-id", "rw-\(workspace.tag)", "--resync", "2s"]
        }
        defer { kill(controller.pid, SIGKILL) }

        // hello: started by RunTask, its runner took the job, and StopTask ended its task.
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records()["hello"]?.state) == .succeeded },
            "\(controller.stderr)")
        let logs = try await RunwayExecutable.run(["logs", "hello", "--state-dir", workspace.state])
        #expect(logs.stdout == "hello through ecs\n")

        // stopped: its task is stopped out of band while the job runs → task-lost → retried.
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records()["stopped"]?.state) == .running })
        let stoppedTask = try #require(try await agent.describe().first { task in
            task.tags?.contains { $0.key == "runway.io/job" && $0.value == "stopped" } == true && task.desiredStatus == "RUNNING"
        })
        _ = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.StopTask",
            json: #"{"cluster":"\#(world.cluster)","task":"\#(stoppedTask.taskArn)","reason":"out of band"}"#)
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records()["stopped"]?.state) == .succeeded },
            "\(controller.stderr)")
        let attempts = try await workspace.attempts("stopped")
        #expect(attempts.count == 2)
        #expect(attempts.first?.reason?.contains("task-lost") == true, "\(attempts.first?.reason ?? "")")

        // silent: its runner never connects → start-timeout → its task is stopped through StopTask.
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records()["silent"]?.state) == .failed })
        #expect(try await workspace.records()["silent"]?.lastReason?.contains("start-timeout") == true)
        let tasks = try await agent.describe()
        let silent = tasks.filter { $0.tags?.contains { $0.key == "runway.io/job" && $0.value == "silent" } == true }
        #expect(!silent.isEmpty && silent.allSatisfy { $0.desiredStatus == "STOPPED" && $0.stoppedReason?.hasPrefix("runway: stopping") == true })
        // Every task the controller started was stopped by it (the out-of-band one by the test).
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            ((try? await agent.describe()) ?? []).allSatisfy { $0.desiredStatus == "STOPPED" }
        })
        kill(controller.pid, SIGTERM)
        #expect(await controller.wait(timeout: .seconds(60)).status == 0)
    }

    /// A loopback proxy in front of moto answers every third ECS call with 400
    /// ThrottlingException: the controller retries, and every job still runs exactly once.
    @Test func throttlingOnTheWayIsRetriedAndNothingIsLost() async throws {
        let world = try await TestMoto.ecsWorld()
        let workspace = try Workspace()
        let calls = Atomic<Int>(0)
        let throttled = Atomic<Int>(0)
        let moto = world.url
        let proxy = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 16 << 20)
            if calls.add(1, ordering: .relaxed).newValue % 3 == 0 {
                throttled.add(1, ordering: .relaxed)
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: #"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)))
            }
            let headers = request.headers.filter { !["host", "content-length", "connection"].contains($0.name.canonicalName) }
                .map { ($0.name.rawName, $0.value) }
            let answer = try await RunwayHTTP.HTTPClient().send(RunwayHTTP.HTTPRequest(
                method: "POST", url: moto + "/", headers: headers, body: Array(buffer: body)))
            return Response(status: .init(code: answer.status), body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        try await LoopbackServer.run(proxy) { proxyURL in
            let throttledWorld = TestMoto.ECSWorld(url: proxyURL, cluster: world.cluster, subnet: world.subnet, securityGroup: world.securityGroup)
            try workspace.write("all.yaml", profile("ecs", world: throttledWorld, isDefault: true, startTimeout: "60s")
                + (1...4).map { workspace.job("job-\($0)", "echo job \($0)") }.joined())
            let agent = Agent(world: world, directory: workspace.root, ignoring: [])
            agent.start()
            defer { agent.stop() }
            // The operator trusts the proxy in front of "AWS" with the controller's signatures.
            let result = try await workspace.apply(
                extra: ["--controller-id", "rw-\(workspace.tag)", "--trusted-endpoints", proxyURL], environment: TestMoto.environment)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("4/4 jobs succeeded"))
            for index in 1...4 {
                #expect(try await workspace.attempts("job-\(index)").count == 1, "job-\(index) ran once")
            }
            let tasks = try await agent.describe()
            #expect(tasks.count == 4, "one task per job, never a second")
            #expect(tasks.allSatisfy { $0.desiredStatus == "STOPPED" })
        }
        #expect(throttled.load(ordering: .relaxed) >= 3, "the proxy throttled calls: \(throttled.load(ordering: .relaxed))")
    }

    /// The fault proxy in front of moto resets connections, answers 500 and 503 and holds calls
    /// back while jobs of every kind run: each job ends as its manifest says, every task the
    /// controller started is stopped, and none was started twice.
    @Test func mixedFaultsOnTheWayLeaveEveryJobEndingAsItsManifestSays() async throws {
        let world = try await TestMoto.ecsWorld()
        let workspace = try Workspace()
        let proxy = try await FaultProxy(tcp: world.url)
        defer { proxy.close() }
        for fault in [
            #"{"kind":"reset","count":3}"#, #"{"kind":"status","status":500,"count":4}"#, #"{"kind":"status","status":503,"count":2}"#,
            #"{"kind":"delay","delay":2,"count":3}"#,
        ] { try await proxy.fault(fault) }
        let faulty = TestMoto.ECSWorld(url: proxy.url, cluster: world.cluster, subnet: world.subnet, securityGroup: world.securityGroup)
        let jobs = workspace.mixedJobs()
        try workspace.write("all.yaml", profile("ecs", world: faulty, isDefault: true, startTimeout: "60s") + jobs.manifests)
        let agent = Agent(world: world, directory: workspace.root, ignoring: [])
        agent.start()
        defer { agent.stop() }
        let result = try await workspace.apply(
            extra: ["--controller-id", "rw-\(workspace.tag)", "--trusted-endpoints", proxy.url], environment: TestMoto.environment)
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        try await workspace.expectEnded(jobs.expected)
        let injected = try await proxy.injected()
        #expect(injected["reset"] == 3 && injected["status"] == 6 && injected["delay"] == 3, "\(injected)")
        let tasks = try await agent.describe()
        var started = 0
        for job in jobs.expected.keys { started += try await workspace.attempts(job).count }
        #expect(tasks.count == started, "one task per attempt, never a second: \(tasks.count) tasks, \(started) attempts")
        #expect(await RunningCommand.until(timeout: .seconds(60)) { ((try? await agent.describe()) ?? []).allSatisfy { $0.desiredStatus == "STOPPED" } })
    }
}
