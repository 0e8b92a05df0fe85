import Foundation
import RunwayAWS
import RunwayHTTP
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

@testable import RunwayLaunchers

/// The ECS launcher against moto's ECS (and its EC2, for the subnet and security group), plus
/// ECS's task lifecycle mapped from responses shaped as in the ECS API reference.
@Suite(.serialized) struct ECSLauncherTests {
    static let environment = ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1"]

    /// moto, reset, with a cluster, a subnet and a security group; the profile config for them.
    struct Moto {
        let url: String
        let cluster = "runners-\(UInt32.random(in: 0...UInt32.max))"
        let credentials = AWSCredentialChain(environment: ECSLauncherTests.environment)

        init() async throws {
            url = try TestMoto.requireURL()
            _ = try await HTTPClient().send(HTTPRequest(method: "POST", url: url + "/moto-api/reset"))
        }

        /// An EC2 Query API call; returns the text of `<element>` in the answer.
        func ec2(_ parameters: [String: String], element: String) async throws -> String {
            let body = parameters.merging(["Version": "2016-11-15"]) { $1 }.sorted { $0.key < $1.key }
                .map { "\($0.key)=\(SigV4Signer.encode($0.value))" }.joined(separator: "&")
            let request = SigV4Signer(region: "us-east-1", service: "ec2").sign(
                HTTPRequest(method: "POST", url: url + "/", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8)),
                credentials: try await credentials.credentials(), date: Date())
            let text = try await HTTPClient().send(request).text
            guard let start = text.range(of: "<\(element)>"), let end = text.range(of: "</\(element)>", range: start.upperBound..<text.endIndex) else {
                throw MotoError(message: "no <\(element)> in \(text.prefix(300))")
            }
            return String(text[start.upperBound..<end.lowerBound])
        }

        func config() async throws -> ConfigNode {
            struct Create: Encodable { var clusterName: String }
            struct Created: Decodable {}
            let client = ECSClient(endpoint: url, region: "us-east-1", credentials: credentials)
            _ = try await client.call("CreateCluster", Create(clusterName: cluster), as: Created.self)
            let vpc = try await ec2(["Action": "CreateVpc", "CidrBlock": "10.0.0.0/16"], element: "vpcId")
            // moto names a task's network interface only in a VPC with DNS hostnames (else RunTask fails inside moto).
            _ = try await ec2(["Action": "ModifyVpcAttribute", "VpcId": vpc, "EnableDnsHostnames.Value": "true"], element: "requestId")
            let subnet = try await ec2(["Action": "CreateSubnet", "VpcId": vpc, "CidrBlock": "10.0.1.0/24"], element: "subnetId")
            let group = try await ec2(
                ["Action": "CreateSecurityGroup", "VpcId": vpc, "GroupName": "runners", "GroupDescription": "runway runners"], element: "groupId")
            var diagnostics: [Diagnostic] = []
            let yaml = "{cluster: \(cluster), endpoint: \"\(url)\", subnets: [\(subnet)], securityGroups: [\(group)], memory: 512, cpu: 256}"
            let node = ConfigNode.parseYAML(yaml, path: "ecs.yaml", diagnostics: &diagnostics)!
            try #require(diagnostics.isEmpty)
            return node
        }
    }

    struct MotoError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func spec(_ name: String, controllerID: String, config: ConfigNode) -> TaskSpec {
        let owner = TaskOwner(job: name, generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "fargate")
        return TaskSpec(
            name: name, labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner, image: "runway-runner:dev",
            arguments: ["runner"], environment: ["RUNWAY_TASK_ID": name], config: config)
    }

    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func startListAdoptStopAgainstMoto() async throws {
        let moto = try await Moto()
        let config = try await moto.config()
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
    func moreThanAHundredTasksArePagedAndDescribedInBatches() async throws {
        let moto = try await Moto()
        let config = try await moto.config()
        let launcher = ECSLauncher(environment: Self.environment)
        _ = launcher.validate(config: config)
        for index in 1...130 {
            _ = try await launcher.startTask(Self.spec("runway-many-\(index)", controllerID: "paged", config: config))
        }
        let listed = try await launcher.listTasks(managedBy: "paged")
        #expect(Set(listed.map(\.name)) == Set((1...130).map { "runway-many-\($0)" }))
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
