import Foundation
import RunwayLaunchers
import RunwayModel
import RunwayTestSupport
import Testing

/// `runway apply` and `runway controller` with `plugin: nomad` against the tests' Nomad
/// (Tests/Servers/nomad_apiserver.py: it checks job JSON against the job specification and runs
/// each allocation's task as a local process, so the runner connects back for real). Every
/// profile reaches it over TLS by IP with `tlsServerName`, with an ACL token from a file.
@Suite(.leavesNoProcesses, .enabled(if: TestNomad.shouldRun, "no test Nomad (RUNWAY_TEST_NOMAD_DIR unset); scripts/test.sh starts one"))
struct NomadTests {
    struct Setup {
        let workspace: Workspace
        let server: TestNomad.Server
        let namespace: String
        var controllerID: String { "rw-\(workspace.tag)" }
        /// The test server's token file, and token files a test writes into its workspace.
        var secretDirectories: String { TestNomad.secretDirectory + ":" + workspace.root }

        init(namespace fixed: String? = nil) async throws {
            workspace = try Workspace()
            server = try TestNomad.server()
            if let fixed {
                try await server.request("POST", "/v1/namespace/\(fixed)", json: #"{"Name":"\#(fixed)"}"#)
                namespace = fixed
            } else {
                namespace = try await server.namespace("nomad")
            }
        }

        /// A raw_exec profile running this build's runner (or docker, with the runner image).
        func profile(_ name: String = "nomad", driver: String = "raw_exec", region: String? = nil, token: String? = nil, extra: String = "",
            isDefault: Bool = true) -> String
        {
            let driverConfig = driver == "raw_exec" ? ", driver: raw_exec, command: \"\(RunwayExecutable.url.path)\"" : ", driver: docker"
            return """
                apiVersion: runway/v1
                kind: RunnerProfile
                metadata: {name: \(name)}
                spec:
                  plugin: nomad
                  default: \(isDefault)
                  image: \(TestKubernetes.runnerImage)
                  startTimeout: 30s
                  config: \(server.config(namespace: namespace, region: region, token: token, extra: driverConfig + ", grace: 2s, placementTimeout: 1s" + extra))

                """
        }

        func apply() async throws -> CommandResult {
            try await workspace.apply(extra: ["--controller-id", controllerID, "--secret-dirs", secretDirectories])
        }

        /// A controller on a port the system picks, or on `port` (an earlier controller's).
        func controller(port: Int = 0) async throws -> (RunningCommand, port: Int) {
            try await RunningCommand.serving(port: port, directory: workspace.root) { port in
                ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)",
                 "--controller-id", controllerID, "--resync", "1s", "--secret-dirs", secretDirectories]
            }
        }

        /// Jobs left in the namespace once stops had up to 20 seconds.
        func leftovers(region: String = "global") async -> [String] {
            var left = ["(not listed)"]
            _ = await RunningCommand.until(timeout: .seconds(120)) {
                left = (try? await server.jobs(namespace: namespace, region: region)) ?? ["(not listed)"]
                return left.isEmpty
            }
            return left
        }
    }

    @Test func aJobsWholeLifeOnRawExecAndDockerDrivers() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile() + "---\n" + setup.profile("nomad-docker", driver: "docker", isDefault: false)
            + workspace.job("ok", "echo ok from nomad") + workspace.job("fails", "echo failing; exit 3")
            + workspace.job("in-docker", "echo docker driver", profile: "nomad-docker"))
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let records = try await workspace.records()
        #expect(records["ok"]?.state == .succeeded && records["in-docker"]?.state == .succeeded, "\(records)")
        #expect(records["fails"]?.state == .failed && records["fails"]?.exitCode == 3)
        let logs = try await RunwayExecutable.run(["logs", "ok", "--state-dir", workspace.state])
        #expect(logs.stdout == "ok from nomad\n")
        #expect(await setup.leftovers().isEmpty, "every job was deregistered and purged")
        // No request was refused. A listing beside a stop may read a job's allocations just
        // after the job was purged (404), as it may on a real cluster; that is no refusal.
        let requests = try await setup.server.requests(namespace: setup.namespace).filter {
            !($0["status"] as? Int == 404 && $0["method"] as? String == "GET" && ($0["path"] as? String ?? "").hasSuffix("/allocations"))
        }
        #expect(!requests.contains { ($0["status"] as? Int).map { $0 >= 400 } ?? true }, "no request was refused: \(requests.filter { ($0["status"] as? Int ?? 0) >= 400 })")
    }

    /// Faults of every kind the test Nomad injects — 500s on registering, listing and
    /// deregistering, 429s with Retry-After, answers held back — while jobs of every kind run:
    /// each job ends as its manifest says, and nothing is left.
    @Test func mixedFaultsLeaveEveryJobEndingAsItsManifestSays() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let faults = [
            #"{"method":"PUT","path":"/v1/jobs","status":500,"count":3}"#, #"{"method":"GET","path":"/v1/jobs","status":500,"count":3}"#,
            #"{"method":"DELETE","path":"/v1/job/","status":500,"count":2}"#,
            #"{"method":"GET","path":"/v1/job/","status":429,"retryAfter":1,"count":3}"#, #"{"method":"GET","path":"/v1/jobs","delay":2,"count":2}"#,
        ]
        for fault in faults {
            try await setup.server.request("POST", "/_test/faults", json: #"{"namespace":"\#(setup.namespace)","# + fault.dropFirst())
        }
        let jobs = workspace.mixedJobs()
        try workspace.write("all.yaml", setup.profile() + jobs.manifests)
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        try await workspace.expectEnded(jobs.expected)
        let refused = try await setup.server.requests(namespace: setup.namespace).filter { [500, 429].contains($0["status"] as? Int ?? 0) }
        #expect(refused.count >= 8, "the status faults were met: \(refused.count)")
        #expect(await setup.leftovers().isEmpty, "every job was deregistered and purged")
    }

    /// Waypoint stopped jobs in the default namespace and region whatever they ran in; here the
    /// request log shows the stop in the job's own.
    @Test func aJobInNamespaceRunnersOfRegionEUIsStoppedThere() async throws {
        let setup = try await Setup(namespace: "runners")
        let workspace = setup.workspace
        let job = "eu-\(workspace.tag)"
        try workspace.write("all.yaml", setup.profile(region: "eu") + workspace.job(job, "echo in eu"))
        let result = try await setup.apply()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let task = try #require(try await workspace.attempts(job).first).taskName
        let requests = try await setup.server.requests(namespace: "runners").filter { ($0["path"] as? String)?.hasSuffix("/" + task) == true || $0["job"] as? String == task }
        let stops = requests.filter { $0["method"] as? String == "DELETE" }
        #expect(stops.count == 1, "\(requests)")
        #expect(stops.allSatisfy { $0["region"] as? String == "eu" && $0["namespace"] as? String == "runners" && $0["status"] as? Int == 200 }, "\(stops)")
        #expect(requests.allSatisfy { $0["region"] as? String == "eu" }, "reads too: \(requests)")
        #expect(try await setup.server.jobs(namespace: "runners", region: "eu").allSatisfy { $0 != task })
    }

    @Test func aJobDeregisteredOutOfBandIsTaskLostAndRetried() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile()
            + workspace.job("deregistered", #"if [ "$RUNWAY_ATTEMPT" = 1 ]; then sleep 120; fi; echo second attempt"#, retries: 1))
        let (controller, _) = try await setup.controller()
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records())?["deregistered"]?.state == .running }, "\(controller.stderr)")
        let task = try #require(try await workspace.attempts("deregistered").first).taskName
        try await setup.server.request("DELETE", "/v1/job/\(task)?purge=true&namespace=\(setup.namespace)")
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records())?["deregistered"]?.state == .succeeded }, "\(controller.stderr)")
        let attempts = try await workspace.attempts("deregistered")
        #expect(attempts.count == 2)
        #expect(attempts.first?.reason?.contains("task-lost") == true, "\(attempts.first?.reason ?? "")")
        #expect(await setup.leftovers().isEmpty)
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }

    @Test func aJobThatCannotBePlacedFailsWithTheSchedulersReason() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile(extra: #", constraints: [{attribute: "${node.class}", value: gpu}]"#) + workspace.job("nowhere", "echo never"))
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let reason = try await workspace.records()["nowhere"]?.lastReason ?? ""
        #expect(reason.contains("placement failed: constraint ${node.class} = gpu filtered 1 node(s)"), "\(reason)")
        let explain = try await RunwayExecutable.run(["explain", "nowhere", "--state-dir", workspace.state])
        #expect(explain.stdout.contains("placement failed"), "\(explain.stdout)")
        #expect(await setup.leftovers().isEmpty)
    }

    /// Nomad registers the job but its answer is held back; the controller is killed before it
    /// records the start. The restarted controller adopts the job: one registration, one run.
    @Test func aCrashBetweenRegisterAndRecordIsAdopted() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try await setup.server.request("POST", "/_test/faults", json: #"{"namespace":"\#(setup.namespace)","method":"PUT","path":"/v1/jobs","delay":30,"after":true}"#)
        try workspace.write("all.yaml", setup.profile() + workspace.job("adopt", "sleep 3; echo ran once"))
        let (first, port) = try await setup.controller()
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await setup.server.jobs(namespace: setup.namespace))?.count == 1 }, "\(first.stderr)")
        kill(first.pid, SIGKILL)
        _ = await first.wait(timeout: .seconds(60))
        #expect(!(try await workspace.store().events(job: "adopt")).contains { $0.kind == "task-started" }, "the premise: the start was not recorded")
        let (second, _) = try await setup.controller(port: port)
        defer { kill(second.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records())?["adopt"]?.state == .succeeded }, "\(second.stderr)")
        #expect(try await workspace.attempts("adopt").count == 1)
        #expect(try await RunwayExecutable.run(["logs", "adopt", "--state-dir", workspace.state]).stdout == "ran once\n")
        let registrations = try await setup.server.requests(namespace: setup.namespace).filter { $0["method"] as? String == "PUT" && $0["status"] as? Int == 200 }
        #expect(registrations.count == 1, "registered once: \(registrations)")
        #expect(await setup.leftovers().isEmpty)
        kill(second.pid, SIGTERM)
        _ = await second.wait(timeout: .seconds(60))
    }

    @Test func aWrongACLTokenOrAMissingServerNameIsAClearError() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let wrong = try workspace.scratch.write("wrong-token", "not-a-token")
        try workspace.write("all.yaml", setup.profile(token: wrong) + workspace.job("refused", "echo refused"))
        let result = try await setup.apply()
        #expect(result.status == 1)
        let output = result.stdout + result.stderr + (try await workspace.records()["refused"]?.lastReason ?? "")
        #expect(output.contains("HTTP 403: ACL token not found") && output.contains("refused the controller's ACL token"), "\(output)")
        #expect(output.contains("list-jobs, read-job and submit-job"), "\(output)")

        let launcher = NomadLauncher(environment: [:], trust: TestNomad.trust)
        let config = LauncherConformanceTests.config("{address: \"\(setup.server.url)\", caCert: \"\(setup.server.caCert)\", namespace: \(setup.namespace)}")
        _ = launcher.validate(config: config)
        let error = await #expect(throws: LauncherError.self) { try await launcher.listTasks(managedBy: "nobody") }
        #expect(error?.description.contains("tlsServerName") == true, "a certificate for server.global.nomad, reached by IP: \(String(describing: error))")
    }

    /// The sample names no server: NOMAD_ADDR, NOMAD_TOKEN, NOMAD_CACERT and
    /// NOMAD_TLS_SERVER_NAME on the controller do, as for the nomad CLI.
    @Test func theNomadSampleRunsFromTheNomadVariables() async throws {
        let setup = try await Setup(namespace: "default")
        let environment = [
            "NOMAD_ADDR": setup.server.url, "NOMAD_TOKEN": setup.server.token, "NOMAD_CACERT": setup.server.caCert,
            "NOMAD_TLS_SERVER_NAME": "server.global.nomad",
        ]
        let result = try await setup.workspace.apply(
            extra: ["--controller-id", setup.controllerID], directory: Repository.path("Samples/nomad"), environment: environment)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("3/3 jobs succeeded"))
        #expect(try await RunwayExecutable.run(["logs", "greet", "--state-dir", setup.workspace.state]).stdout == "hello from a Nomad allocation\n")
        let tasks = try await setup.workspace.attempts("flaky").map(\.taskName)
        let left = try await setup.server.jobs(namespace: "default").filter { tasks.contains($0) }
        #expect(tasks.count == 2 && left.isEmpty, "\(left)")
    }

    @Test func twoHundredFiftyJobsAreListedAcrossPages() async throws {
        let setup = try await Setup()
        // Jobs no node takes stay queued: 250 jobs without 250 processes.
        let config = LauncherConformanceTests.config(setup.server.config(
            namespace: setup.namespace, extra: #", driver: raw_exec, constraints: [{attribute: "${node.class}", value: none}], placementTimeout: 1h"#))
        let launcher = NomadLauncher(environment: [:], pageSize: 100, trust: TestNomad.trust)
        _ = launcher.validate(config: config)
        var handles: [TaskHandle] = []
        for index in 0..<250 {
            let owner = TaskOwner(job: "page-\(index)", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "nomad")
            handles.append(try await launcher.startTask(TaskSpec(
                name: owner.taskName(), labels: TaskLabels.labels(controllerID: setup.controllerID, owner: owner), owner: owner,
                entrypoint: ["/bin/true"], config: config)))
        }
        let before = try await setup.server.requests(namespace: setup.namespace).count
        let tasks = try await launcher.listTasks(managedBy: setup.controllerID)
        #expect(tasks.count == 250 && Set(tasks.compactMap(\.owner?.job)) == Set((0..<250).map { "page-\($0)" }))
        #expect(tasks.allSatisfy { $0.state == .pending })
        let listing = Array(try await setup.server.requests(namespace: setup.namespace).dropFirst(before))
        #expect(listing.count == 3 && listing.allSatisfy { $0["path"] as? String == "/v1/jobs" }, "100 + 100 + 50, and nothing else: \(listing.count)")
        for handle in handles { try await launcher.stopTask(handle) }
        #expect(try await launcher.listTasks(managedBy: setup.controllerID).isEmpty)
    }

    @Test func realClientsWorkAgainstTheTestServer() async throws {
        let directory = try #require(TestNomad.directory)
        let result = try await RunningCommand.shell(
            "python3 Tests/Servers/nomad_fidelity.py '\(directory)' fidelity-\(UInt32.random(in: 0...UInt32.max))", directory: Repository.path(""))
        #expect(result.status == 0 && result.stdout == "ok\n", "\(result.stdout)\(result.stderr)")
    }

    /// The server refuses what Nomad refuses: a wrong JSON type fails decoding (400), a job
    /// missing what the job specification requires fails validation (500, as Nomad answers).
    @Test func anInvalidJobIsRejected() async throws {
        let server = try TestNomad.server()
        let decoding = try await server.request("PUT", "/v1/jobs", json: #"{"Job":{"ID":"bad","Priority":"high","TaskGroups":[]}}"#, expect: [400])
        #expect(decoding.contains("cannot unmarshal string into Go struct field Job.Priority of type int"), "\(decoding)")
        let invalid = try await server.request(
            "PUT", "/v1/jobs", json: #"{"Job":{"ID":"bad","Type":"batch","TaskGroups":[{"Name":"g","Tasks":[{"Name":"t"}]}]}}"#, expect: [500])
        #expect(invalid.contains("Task group g validation failed: Task t validation failed: Missing task driver"), "\(invalid)")
        #expect(try await server.jobs(namespace: "default").allSatisfy { $0 != "bad" })
    }
}
