import Foundation
import Logging
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// The launcher protocol's promises, checked the same way on every launcher: start → listed →
/// stop → not listed → stop again succeeds; a repeated start (also from a fresh launcher, as
/// after a controller crash) adopts instead of duplicating; the exit code is reported.
/// A new launcher gets one more `@Test` here.
@Suite(.leavesNoProcesses, .leavesNoProcesses) struct LauncherConformanceTests {
    /// What the suite needs from one platform.
    struct Subject {
        /// A new launcher instance (a fresh one stands for a restarted controller).
        let makeLauncher: @Sendable () -> any TaskLauncher
        /// A task running `script` with sh, named `name`, owned by `controllerID`.
        let spec: @Sendable (_ name: String, _ script: String, _ controllerID: String) -> TaskSpec
        /// False for a platform emulator that runs nothing (moto's ECS): the exit-code step is
        /// then covered by the launcher's own mapping tests on recorded platform responses.
        var runsCommands = true
        /// For a platform that brings the runner into a job's own image: a task of the runner
        /// image given `arguments`, whose job image (`TaskSpec.jobImage`) holds nothing of Runway.
        var anyImage: (@Sendable (_ name: String, _ arguments: [String], _ controllerID: String) -> TaskSpec)?
        /// What the platform holds of such a task beyond its exit (ECS: the task definition).
        var inspectAnyImage: (@Sendable (TaskHandle) async throws -> Void)?
    }

    static func owner(_ name: String) -> TaskOwner {
        TaskOwner(job: name, generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "conformance")
    }

    static func config(_ yaml: String) -> ConfigNode {
        var diagnostics: [Diagnostic] = []
        let node = ConfigNode.parseYAML(yaml, path: "conformance.yaml", diagnostics: &diagnostics)
        precondition(diagnostics.isEmpty, "\(diagnostics)")
        return node!
    }

    func check(_ subject: Subject) async throws {
        let controllerID = "conformance-\(UInt32.random(in: 0...UInt32.max))"
        let launcher = subject.makeLauncher()
        func listed() async throws -> [ObservedTask] { try await launcher.listTasks(managedBy: controllerID) }

        // Start → listed, with our labels; a second start adopts.
        let long = subject.spec("runway-conformance-long", "sleep 60", controllerID)
        let handle = try await launcher.startTask(long)
        let again = try await launcher.startTask(long)
        #expect(again.id == handle.id, "a repeated start adopts the task")
        let fresh = subject.makeLauncher()
        _ = try await fresh.listTasks(managedBy: controllerID)  // a restarted controller observes before it acts
        let afterCrash = try await fresh.startTask(long)
        #expect(afterCrash.id == handle.id, "a fresh launcher (a restarted controller) adopts it too")
        let tasks = try await listed()
        #expect(tasks.filter { $0.name == long.name }.count == 1, "exactly one task: \(tasks.map(\.name))")
        let task = try #require(tasks.first { $0.name == long.name })
        #expect(task.id == handle.id && task.plugin == handle.plugin)
        #expect(task.owner == long.owner && task.labels[TaskLabels.managedBy] == controllerID)
        #expect(task.state != .exited)
        #expect(try await launcher.listTasks(managedBy: controllerID + "-other").isEmpty, "another controller sees none of it")

        // Stop → not listed; stopping again succeeds.
        try await launcher.stopTask(TaskHandle(task, config: long.config))
        #expect(try await listed().allSatisfy { $0.name != long.name })
        try await launcher.stopTask(TaskHandle(task, config: long.config))

        if let anyImage = subject.anyImage { try await checkAnyImage(anyImage, subject, launcher: launcher, controllerID: controllerID) }
        guard subject.runsCommands else { return }
        // The exit code of a task that ended on its own.
        let exits = subject.spec("runway-conformance-exits", "exit 7", controllerID)
        let exitsHandle = try await launcher.startTask(exits)
        var ended: ObservedTask?
        _ = await RunningCommand.until(timeout: .seconds(120)) {
            ended = (try? await listed())?.first { $0.name == exits.name && $0.state == .exited }
            return ended != nil
        }
        #expect(ended?.exitCode == 7, "\(String(describing: ended))")
        try await launcher.stopTask(exitsHandle)
        #expect(try await listed().isEmpty)
    }

    /// Any image: the brought-in runner starts in an image that holds nothing of Runway (it runs
    /// `--version`, which needs no controller, and exits 0; an unknown argument exits 2), and
    /// the task is listed and stopped like any other.
    func checkAnyImage(
        _ anyImage: @Sendable (String, [String], String) -> TaskSpec, _ subject: Subject, launcher: any TaskLauncher, controllerID: String
    ) async throws {
        func listed() async throws -> [ObservedTask] { try await launcher.listTasks(managedBy: controllerID) }
        for (name, arguments, code) in [("runway-conformance-any", ["--version"], Int32(0)), ("runway-conformance-any-bad", ["--bogus"], 2)] {
            let spec = anyImage(name, arguments, controllerID)
            #expect(spec.jobImage != nil)
            let handle = try await launcher.startTask(spec)
            if subject.runsCommands {
                var ended: ObservedTask?
                _ = await RunningCommand.until(timeout: .seconds(120)) {
                    ended = (try? await listed())?.first { $0.name == spec.name && $0.state == .exited }
                    return ended != nil
                }
                #expect(ended?.exitCode == code, "\(spec.name): \(String(describing: ended))")
            } else {
                #expect(try await listed().contains { $0.name == spec.name })
            }
            try await subject.inspectAnyImage?(handle)
            try await launcher.stopTask(handle)
            #expect(try await listed().allSatisfy { $0.name != spec.name })
        }
    }

    @Test func localLauncher() async throws {
        let scratch = TemporaryDirectory()
        let directory = scratch.path + "/tasks"
        try await check(Subject(
            makeLauncher: {
                LocalLauncher(configuration: .init(directory: directory, runnerExecutable: RunwayExecutable.url.path))
            },
            spec: { name, script, controllerID in
                let owner = Self.owner(name)
                return TaskSpec(
                    name: name, labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                    config: Self.config("{command: [sh, -c, \(String(decoding: try! JSONEncoder().encode(script), as: UTF8.self))], grace: 2s}"))
            }))
    }

    /// A controller killed between writing a task record's temporary file and renaming it leaves
    /// `.tmp-PID-NAME.json`; the next listing removes it (its writer is dead), and only it.
    @Test func localLauncherRemovesTheTemporaryFileOfAKilledWrite() async throws {
        let scratch = TemporaryDirectory()
        let directory = scratch.path + "/tasks"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dead = try await RunningCommand.shell("echo $$", directory: scratch.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let abandoned = directory + "/.tmp-\(dead)-runway-x-0011-1.json"
        let inFlight = directory + "/.tmp-\(getpid())-runway-y-0011-1.json"
        for path in [abandoned, inFlight] { #expect(FileManager.default.createFile(atPath: path, contents: Data("{".utf8))) }
        let launcher = LocalLauncher(configuration: .init(directory: directory, runnerExecutable: RunwayExecutable.url.path))
        #expect(try await launcher.listTasks(managedBy: "c").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: abandoned), "the dead writer's file is removed")
        #expect(FileManager.default.fileExists(atPath: inFlight), "a live writer's file is its own")
    }

    @Test(.enabled(if: TestDocker.shouldRun, "no Docker engine (RUNWAY_TEST_DOCKER_HOST unset)"))
    func dockerLauncher() async throws {
        let host = try TestDocker.requireHost()
        try await check(Subject(
            makeLauncher: { DockerLauncher(environment: ["DOCKER_HOST": host]) },
            spec: { name, script, controllerID in
                let owner = Self.owner(name)
                return TaskSpec(
                    name: "\(name)-\(controllerID)", labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                    image: TestDocker.image, entrypoint: ["/bin/sh", "-c", script], config: Self.config("{pull: never, grace: 1s}"))
            },
            anyImage: { name, arguments, controllerID in
                Self.anyImageSpec("\(name)-\(controllerID)", image: TestDocker.image, jobImage: "runway-test/scratch:1", arguments: arguments,
                    controllerID: controllerID, config: Self.config("{pull: never, grace: 1s}"))
            },
            inspectAnyImage: { handle in
                let inspected = try await RunningCommand.shell(
                    "docker -H '\(host)' inspect -f '{{.Config.Image}} {{json .Config.Entrypoint}}' \(handle.id.split(separator: "#").last ?? "")", directory: "/")
                #expect(inspected.stdout.hasPrefix("runway-test/scratch:1 [\"\(RunnerBundle.entrypoint[0])\""), "\(inspected.stdout)\(inspected.stderr)")
            }))
    }

    /// A task of the runner `image` running `arguments`, in `jobImage`.
    static func anyImageSpec(_ name: String, image: String, jobImage: String, arguments: [String], controllerID: String, config: ConfigNode) -> TaskSpec {
        let owner = Self.owner(name)
        var spec = TaskSpec(
            name: name, labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner, image: image, arguments: arguments,
            config: config)
        spec.jobImage = jobImage
        return spec
    }

    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func ecsLauncher() async throws {
        let world = try await TestMoto.ecsWorld()
        try await check(Subject(
            makeLauncher: {
                let launcher = ECSLauncher(environment: TestMoto.environment)
                _ = launcher.validate(config: Self.config(world.configYAML))
                return launcher
            },
            spec: { name, script, controllerID in
                let owner = Self.owner(name)
                return TaskSpec(
                    name: name, labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                    image: TestDocker.image, entrypoint: ["/bin/sh", "-c", script], config: Self.config(world.configYAML))
            },
            runsCommands: false,
            anyImage: { name, arguments, controllerID in
                Self.anyImageSpec(name, image: TestDocker.image, jobImage: "runway-test/scratch:1", arguments: arguments,
                    controllerID: controllerID, config: Self.config(world.configYAML))
            },
            inspectAnyImage: { handle in
                // The task runs a definition whose job container waits for the bundle's SUCCESS.
                let arn = String(handle.id.split(separator: "|").last ?? "")
                let tasks = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.DescribeTasks",
                    json: #"{"cluster":"\#(world.cluster)","tasks":["\#(arn)"]}"#)
                let task = ((try JSONSerialization.jsonObject(with: Data(tasks.utf8)) as? [String: Any])?["tasks"] as? [[String: Any]])?.first
                let definitionARN = try #require(task?["taskDefinitionArn"] as? String, "\(tasks)")
                let described = try await TestMoto.call(world.url, target: "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
                    json: #"{"taskDefinition":"\#(definitionARN)"}"#)
                let definition = (try JSONSerialization.jsonObject(with: Data(described.utf8)) as? [String: Any])?["taskDefinition"] as? [String: Any]
                let containers = definition?["containerDefinitions"] as? [[String: Any]] ?? []
                let job = containers.first { $0["name"] as? String == "runner" }
                let dependsOn = job?["dependsOn"] as? [[String: Any]] ?? []
                #expect(job?["image"] as? String == "runway-test/scratch:1")
                #expect(dependsOn.first?["containerName"] as? String == "runway-bundle" && dependsOn.first?["condition"] as? String == "SUCCESS")
                #expect((definition?["volumes"] as? [[String: Any]])?.map { $0["name"] as? String } == ["runway-bundle"])
            }))
    }

    @Test(.enabled(if: TestKubernetes.shouldRun, "no test Kubernetes (RUNWAY_TEST_KUBECONFIG unset)"))
    func kubernetesLauncher() async throws {
        let cluster = try TestKubernetes.cluster()
        let namespace = try await cluster.namespace("conformance")
        let config = Self.config("{namespace: \(namespace), grace: 1s}")
        try await check(Subject(
            makeLauncher: {
                let launcher = KubernetesLauncher(environment: ["KUBECONFIG": cluster.kubeconfig])
                _ = launcher.validate(config: config)
                return launcher
            },
            spec: { name, script, controllerID in
                let owner = Self.owner(name)
                return TaskSpec(
                    name: name, labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                    image: TestKubernetes.shellImage, entrypoint: ["/bin/sh", "-c", script], config: config)
            },
            anyImage: { name, arguments, controllerID in
                Self.anyImageSpec(name, image: TestKubernetes.runnerImage, jobImage: "stock/root:1", arguments: arguments,
                    controllerID: controllerID, config: config)
            },
            inspectAnyImage: { handle in
                let job = try await cluster.object("/apis/batch/v1/namespaces/\(namespace)/jobs/\(handle.id.split(separator: "|").last ?? "")")
                let pod = ((job["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
                #expect((pod?["containers"] as? [[String: Any]])?.first?["image"] as? String == "stock/root:1")
                #expect((pod?["initContainers"] as? [[String: Any]])?.first?["image"] as? String == TestKubernetes.runnerImage)
            }))
    }

    @Test(.enabled(if: TestNomad.shouldRun, "no test Nomad (RUNWAY_TEST_NOMAD_DIR unset)"))
    func nomadLauncher() async throws {
        let server = try TestNomad.server()
        let namespace = try await server.namespace("conformance")
        let config = Self.config(server.config(namespace: namespace, extra: ", driver: raw_exec, grace: 1s"))
        let docker = Self.config(server.config(namespace: namespace, extra: ", driver: docker, grace: 1s"))
        try await check(Subject(
            makeLauncher: {
                let launcher = NomadLauncher(environment: [:], trust: TestNomad.trust)
                _ = launcher.validate(config: config)
                return launcher
            },
            spec: { name, script, controllerID in
                let owner = Self.owner(name)
                return TaskSpec(
                    name: name, labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                    entrypoint: ["/bin/sh", "-c", script], config: config)
            },
            anyImage: { name, arguments, controllerID in
                Self.anyImageSpec(name, image: TestKubernetes.runnerImage, jobImage: "stock/root:1", arguments: arguments,
                    controllerID: controllerID, config: docker)
            },
            inspectAnyImage: { handle in
                let text = try await server.request("GET", "/v1/job/\(handle.id.split(separator: "|").last ?? "")?namespace=\(namespace)")
                let job = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                let tasks = (job?["TaskGroups"] as? [[String: Any]])?.first?["Tasks"] as? [[String: Any]] ?? []
                #expect(tasks.map { ($0["Config"] as? [String: Any])?["image"] as? String } == [TestKubernetes.runnerImage, "stock/root:1"])
            }))
    }
}
