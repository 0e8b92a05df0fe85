import Foundation
import Hummingbird
import Synchronization
import RunwayAWS
import RunwayHTTP
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

@testable import RunwayLaunchers

/// The ECS launcher against moto's ECS (and its EC2, for the subnet and security group), plus
/// ECS's task lifecycle mapped from responses shaped as in the ECS API reference.
@Suite(.leavesNoProcesses, .serialized) struct ECSLauncherTests {
    static let environment = TestMoto.environment

    static func config(_ world: TestMoto.ECSWorld) throws -> ConfigNode {
        var diagnostics: [Diagnostic] = []
        let node = ConfigNode.parseYAML(world.configYAML, path: "ecs.yaml", diagnostics: &diagnostics)
        try #require(diagnostics.isEmpty)
        return try #require(node)
    }

    static func spec(_ name: String, controllerID: String, config: ConfigNode) -> TaskSpec {
        let owner = TaskOwner(job: name, generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "fargate")
        return TaskSpec(
            name: name, labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner, image: "runway-runner:dev",
            arguments: ["runner"], environment: ["RUNWAY_TASK_ID": name], config: config)
    }

    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func startListAdoptStopAgainstMoto() async throws {
        let config = try Self.config(try await TestMoto.ecsWorld())
        let controllerID = "conformance-ecs"
        let launcher = ECSLauncher(environment: Self.environment)
        #expect(launcher.validate(config: config).isEmpty)
        let spec = Self.spec("runway-ecs-long", controllerID: controllerID, config: config)

        let handle = try await launcher.startTask(spec)
        #expect(try await launcher.startTask(spec).id == handle.id, "a repeated start adopts the task")
        // A restarted controller lists its tasks before it starts any: the fresh launcher adopts.
        let fresh = ECSLauncher(environment: Self.environment)
        _ = fresh.validate(config: config)
        _ = try await fresh.listTasks(managedBy: controllerID)
        #expect(try await fresh.startTask(spec).id == handle.id, "so does a fresh launcher (a restarted controller)")

        let listed = try await launcher.listTasks(managedBy: controllerID)
        #expect(listed.filter { $0.name == spec.name }.count == 1, "\(listed.map(\.name))")
        let task = try #require(listed.first { $0.name == spec.name })
        #expect(task.owner == spec.owner && task.labels[TaskLabels.managedBy] == controllerID && task.id == handle.id)
        #expect(try await launcher.listTasks(managedBy: controllerID + "-2").isEmpty)

        try await launcher.stopTask(handle)
        #expect(try await launcher.listTasks(managedBy: controllerID).allSatisfy { $0.name != spec.name })
        try await launcher.stopTask(handle)  // stopping again succeeds
    }

    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func moreThanAHundredTasksOnMotoAreAllListed() async throws {
        let config = try Self.config(try await TestMoto.ecsWorld())
        let launcher = ECSLauncher(environment: Self.environment)
        _ = launcher.validate(config: config)
        for index in 1...130 {
            _ = try await launcher.startTask(Self.spec("runway-many-\(index)", controllerID: "paged", config: config))
        }
        let listed = try await launcher.listTasks(managedBy: "paged")
        #expect(Set(listed.map(\.name)) == Set((1...130).map { "runway-many-\($0)" }))
    }

    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func theTaskDefinitionIsRegisteredAgainOnlyWhenItChanges() async throws {
        let world = try await TestMoto.ecsWorld()
        let profile = "defs-\(UInt32.random(in: 0...UInt32.max))"
        func spec(_ name: String, memory: Int) throws -> TaskSpec {
            var diagnostics: [Diagnostic] = []
            let yaml = world.configYAML.replacingOccurrences(of: "memory: 512", with: "memory: \(memory)")
            let config = try #require(ConfigNode.parseYAML(yaml, path: "ecs.yaml", diagnostics: &diagnostics))
            let owner = TaskOwner(job: name, generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: profile)
            return TaskSpec(name: name, labels: TaskLabels.labels(controllerID: "defs", owner: owner), owner: owner,
                image: "runway-runner:dev", arguments: ["runner"], config: config)
        }
        func revisions() async throws -> Int {
            let answer = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.ListTaskDefinitions",
                json: #"{"familyPrefix":"runway-\#(profile)"}"#)
            return answer.components(separatedBy: "task-definition/runway-\(profile):").count - 1
        }
        let launcher = ECSLauncher(environment: Self.environment)
        _ = try await launcher.startTask(try spec("one", memory: 512))
        _ = try await launcher.startTask(try spec("two", memory: 512))
        #expect(try await revisions() == 1, "the same content: registered once")
        let restarted = ECSLauncher(environment: Self.environment)
        _ = try await restarted.startTask(try spec("three", memory: 512))
        #expect(try await revisions() == 1, "a restarted controller finds it by its digest tag")
        _ = try await launcher.startTask(try spec("four", memory: 1024))
        #expect(try await revisions() == 2, "changed content: a new revision")
    }

    /// A job in its own image gets a task definition of its own (RunTask cannot change an
    /// image): the runner image's container installs the bundle into a task volume and is not
    /// essential; the job's container (`runner`) depends on its SUCCESS, mounts the volume
    /// read-only and starts the bundle's runner. As registered on moto.
    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func aJobImageGetsADefinitionWhoseJobContainerWaitsForTheBundle() async throws {
        let world = try await TestMoto.ecsWorld()
        let profile = "inject-\(UInt32.random(in: 0...UInt32.max))"
        let config = try Self.config(world)
        let owner = TaskOwner(job: "in-debian", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: profile)
        var spec = TaskSpec(name: "runway-in-debian-01234567-1", labels: TaskLabels.labels(controllerID: "inject", owner: owner), owner: owner,
            image: "runway-runner:dev", arguments: ["runner"], config: config)
        spec.jobImage = "debian:12"
        let launcher = ECSLauncher(environment: Self.environment)
        _ = launcher.validate(config: config)
        _ = try await launcher.startTask(spec)
        // The family is `runway-<profile>-<digest of the image>`; moto matches familyPrefix whole.
        let listed = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.ListTaskDefinitions", json: "{}")
        let arn = try #require(listed.split(separator: "\"").first { $0.contains("task-definition/runway-\(profile)-") }.map(String.init))
        let described = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
            json: #"{"taskDefinition":"\#(arn)"}"#)
        let definition = try #require((try JSONSerialization.jsonObject(with: Data(described.utf8)) as? [String: Any])?["taskDefinition"] as? [String: Any])
        let containers = try #require(definition["containerDefinitions"] as? [[String: Any]])
        let bundle = try #require(containers.first { $0["name"] as? String == "runway-bundle" })
        let job = try #require(containers.first { $0["name"] as? String == "runner" })
        #expect(bundle["image"] as? String == "runway-runner:dev" && bundle["essential"] as? Bool == false)
        #expect(bundle["command"] as? [String] == ["--install", "/mnt/runway-bundle"])
        #expect(bundle["memoryReservation"] as? Int == 64 && job["memoryReservation"] as? Int == 512 - 64 && job["memory"] == nil,
            "the containers reserve the task's memory between them")
        #expect(job["image"] as? String == "debian:12" && job["entryPoint"] as? [String] == RunnerBundle.entrypoint)
        let dependsOn = try #require(job["dependsOn"] as? [[String: Any]])
        #expect(dependsOn.count == 1 && dependsOn[0]["containerName"] as? String == "runway-bundle" && dependsOn[0]["condition"] as? String == "SUCCESS")
        let mounts = try #require(job["mountPoints"] as? [[String: Any]])
        #expect(mounts.first?["sourceVolume"] as? String == "runway-bundle" && mounts.first?["containerPath"] as? String == "/runway"
            && mounts.first?["readOnly"] as? Bool == true)
        let volumes = try #require(definition["volumes"] as? [[String: Any]])
        #expect(volumes.map { $0["name"] as? String } == ["runway-bundle"])
    }

    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func awsErrorsNameTheFieldToFix() async throws {
        let world = try await TestMoto.ecsWorld()
        let missing = TestMoto.ECSWorld(url: world.url, cluster: "no-such-cluster", subnet: world.subnet, securityGroup: world.securityGroup)
        let launcher = ECSLauncher(environment: Self.environment)
        let spec = Self.spec("runway-nowhere", controllerID: "errors", config: try Self.config(missing))
        await #expect {
            _ = try await launcher.startTask(spec)
        } throws: { error in
            guard let error = error as? LauncherError else { return false }
            return error.code == .invalidSpec && "\(error)".contains("ClusterNotFoundException")
                && "\(error)".hasSuffix("(check spec.config.cluster and spec.config.region)")
        }
    }

    /// ECS's lifecycle, on task shapes from the DescribeTasks reference.
    @Test func ecsStatesMapOntoRunways() throws {
        func task(_ json: String) throws -> ECSTask { try JSONDecoder().decode(ECSTask.self, from: Data(json.utf8)) }
        let provisioning = try task(#"{"taskArn":"a","lastStatus":"PROVISIONING","desiredStatus":"RUNNING"}"#)
        #expect(ECSLauncher.state(of: provisioning) == (.pending, nil, nil))
        let running = try task(#"{"taskArn":"a","lastStatus":"RUNNING","desiredStatus":"RUNNING","containers":[{"name":"runner","lastStatus":"RUNNING"}]}"#)
        #expect(ECSLauncher.state(of: running) == (.running, nil, nil))
        let exited = try task(#"""
            {"taskArn":"a","lastStatus":"STOPPED","desiredStatus":"STOPPED","stopCode":"EssentialContainerExited",
             "stoppedReason":"Essential container in task exited","containers":[{"name":"runner","exitCode":3,"lastStatus":"STOPPED"}]}
            """#)
        #expect(ECSLauncher.state(of: exited) == (.exited, 3, nil))
        let pullFailed = try task(#"""
            {"taskArn":"a","lastStatus":"STOPPED","stopCode":"TaskFailedToStart",
             "stoppedReason":"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref runway:nope",
             "containers":[{"name":"runner","lastStatus":"STOPPED","reason":"CannotPullContainerError: ..."}]}
            """#)
        #expect(ECSLauncher.state(of: pullFailed).2?.hasPrefix("failed to start: CannotPullContainerError") == true)
        let oom = try task(#"""
            {"taskArn":"a","lastStatus":"STOPPED","stopCode":"EssentialContainerExited",
             "containers":[{"name":"runner","exitCode":137,"reason":"OutOfMemoryError: Container killed due to memory usage"}]}
            """#)
        #expect(ECSLauncher.state(of: oom) == (.exited, 137, "OutOfMemoryError: Container killed due to memory usage"))
        let userStopped = try task(#"{"taskArn":"a","lastStatus":"STOPPED","stopCode":"UserInitiated","stoppedReason":"Task stopped by user"}"#)
        #expect(ECSLauncher.state(of: userStopped).2 == "stopped: Task stopped by user")
        #expect(ECSLauncher.startedBy(String(repeating: "x", count: 50)).count == 36)
        #expect(ECSLauncher.startedBy("runway.prod") == "runway-prod")
    }
}

/// ListTasks pagination (`nextToken`), which moto does not do, against a loopback ECS that pages
/// by 100 as ECS does; DescribeTasks batches counted.
@Suite(.leavesNoProcesses, .leavesNoProcesses) struct ECSPaginationTests {
    @Test func everyPageIsReadAndDescribedAHundredAtATime() async throws {
        let running = (1...250).map { "arn:aws:ecs:us-east-1:1:task/c/running-\($0)" }
        let stopped = ["arn:aws:ecs:us-east-1:1:task/c/stopped-1"]
        let calls = Mutex<[String]>([])
        struct List: Decodable { var desiredStatus: String; var nextToken: String? }
        struct Describe: Decodable { var tasks: [String] }
        let server = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let target = request.headers.first { $0.name.canonicalName == "x-amz-target" }?.value ?? ""
            let body = Data(buffer: try await request.collectBody(upTo: 1 << 20))
            let json: String
            if target.hasSuffix(".ListTasks") {
                let list = try JSONDecoder().decode(List.self, from: body)
                let all = list.desiredStatus == "RUNNING" ? running : stopped
                let start = Int(list.nextToken ?? "0")!
                let page = Array(all[start..<min(start + 100, all.count)])
                let next = start + 100 < all.count ? #","nextToken":"\#(start + 100)""# : ""
                calls.withLock { $0.append("ListTasks \(list.desiredStatus) from \(start)") }
                json = #"{"taskArns":[\#(page.map { "\"\($0)\"" }.joined(separator: ","))]\#(next)}"#
            } else {
                let describe = try JSONDecoder().decode(Describe.self, from: body)
                calls.withLock { $0.append("DescribeTasks \(describe.tasks.count)") }
                let tasks = describe.tasks.map { arn in
                    let name = arn.split(separator: "/").last!
                    let status = arn.contains("stopped") ? "STOPPED" : "RUNNING"
                    return #"{"taskArn":"\#(arn)","lastStatus":"\#(status)","tags":[{"key":"runway.io/managed-by","value":"paged"},{"key":"runway.io/task","value":"\#(name)"}]}"#
                }
                json = #"{"tasks":[\#(tasks.joined(separator: ","))],"failures":[]}"#
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        try await LoopbackServer.run(server) { base in
            // An endpoint the manifest names gets signed requests only because the operator trusts it.
            var ignored: [Diagnostic] = []
            #expect(!ECSLauncher(environment: TestMoto.environment).validate(config: ConfigNode.parseYAML(
                "{cluster: c, region: us-east-1, endpoint: \"\(base)\", subnets: [s]}", path: "p.yaml", diagnostics: &ignored)!).isEmpty)
            let launcher = ECSLauncher(environment: TestMoto.environment, trust: TrustPolicy(trustedEndpoints: [base]))
            var diagnostics: [Diagnostic] = []
            let config = ConfigNode.parseYAML("{cluster: c, region: us-east-1, endpoint: \"\(base)\", subnets: [s]}", path: "p.yaml", diagnostics: &diagnostics)!
            #expect(launcher.validate(config: config).isEmpty)
            let listed = try await launcher.listTasks(managedBy: "paged")
            #expect(listed.count == 251)
            #expect(listed.filter { $0.state == .exited }.map(\.name) == ["stopped-1"])
        }
        #expect(calls.withLock { $0 } == [
            "ListTasks RUNNING from 0", "ListTasks RUNNING from 100", "ListTasks RUNNING from 200", "ListTasks STOPPED from 0",
            "DescribeTasks 100", "DescribeTasks 100", "DescribeTasks 51",
        ])
    }
}

extension ECSLauncherTests {
    /// `fromAWSSecret` entries go into the task definition's container `secrets` (ECS reads them
    /// with the execution role; overrides cannot carry them), as moto keeps it; without an
    /// execution role the start is refused, naming the field.
    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func awsSecretsAreRenderedIntoTheTaskDefinition() async throws {
        let world = try await TestMoto.ecsWorld()
        let profile = "secrets-\(UInt32.random(in: 0...UInt32.max))"
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
        func spec(_ name: String, role: Bool) throws -> TaskSpec {
            var diagnostics: [Diagnostic] = []
            let yaml = world.configYAML.replacingOccurrences(
                of: "memory: 512", with: "memory: 512" + (role ? ", executionRoleArn: \"arn:aws:iam::123456789012:role/exec\"" : ""))
            let config = try #require(ConfigNode.parseYAML(yaml, path: "ecs.yaml", diagnostics: &diagnostics))
            let owner = TaskOwner(job: name, generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: profile)
            var spec = TaskSpec(name: name, labels: TaskLabels.labels(controllerID: "secrets", owner: owner), owner: owner,
                image: "runway-runner:dev", arguments: ["runner"], config: config)
            spec.platformSecrets = ["DB": .awsSecret(arn: arn)]
            return spec
        }
        let launcher = ECSLauncher(environment: Self.environment)
        let refused = await #expect(throws: LauncherError.self) { _ = try await launcher.startTask(try spec("no-role", role: false)) }
        #expect(refused?.description.contains("executionRoleArn") == true)
        _ = try await launcher.startTask(try spec("with-role", role: true))
        let answer = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
            json: #"{"taskDefinition":"runway-\#(profile)"}"#)
        let object = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
        let container = ((object?["taskDefinition"] as? [String: Any])?["containerDefinitions"] as? [[String: Any]])?.first
        #expect(container?["secrets"] as? [[String: String]] == [["name": "DB", "valueFrom": arn]], "\(answer)")
        #expect(!answer.contains("\"DB\",\"value\""))
    }
}
