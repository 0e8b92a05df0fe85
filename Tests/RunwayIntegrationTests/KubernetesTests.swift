import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// `runway apply` and `runway controller` with `plugin: kubernetes` against the tests' API server
/// (Tests/Servers/kube_apiserver.py, which checks every object against the official schemas and
/// runs each pod's container as a local process, so the runner connects back for real).
@Suite(.leavesNoProcesses, .enabled(if: TestKubernetes.shouldRun, "no test Kubernetes (RUNWAY_TEST_KUBECONFIG unset); scripts/test.sh starts one"))
struct KubernetesTests {
    /// A workspace, a namespace of its own and a controller id of its own.
    struct Setup {
        let workspace: Workspace
        let cluster: TestKubernetes.Cluster
        let namespace: String
        var kubeconfig: String
        var controllerID: String { "rw-\(workspace.tag)" }
        var environment: [String: String] { ["KUBECONFIG": kubeconfig, "RUNWAY_SECRET_RW": "s3cr3t-\(workspace.tag)"] }

        init() async throws {
            workspace = try Workspace()
            cluster = try TestKubernetes.cluster()
            namespace = try await cluster.namespace("k8s")
            kubeconfig = cluster.kubeconfig
        }

        func profile(
            image: String = TestKubernetes.runnerImage, startTimeout: String = "30s", secrets: String = "API_KEY: {fromEnv: RUNWAY_SECRET_RW}",
            extra: String = ""
        ) -> String {
            """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: k8s}
            spec:
              plugin: kubernetes
              default: true
              image: \(image)
              startTimeout: \(startTimeout)
              secretEnvironment:
                \(secrets)
              config: {namespace: \(namespace), grace: 2s, unschedulableTimeout: 1s\(extra)}

            """
        }

        func apply() async throws -> CommandResult {
            try await workspace.apply(extra: ["--controller-id", controllerID], environment: environment)
        }

        /// A controller on a port the system picks, or on `port` (an earlier controller's).
        func controller(port: Int = 0, environment extra: [String: String] = [:]) async throws -> (RunningCommand, port: Int) {
            try await RunningCommand.serving(port: port, directory: workspace.root, environment: environment.merging(extra) { $1 }) { port in
                ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)",
                 "--controller-id", controllerID, "--resync", "1s"]
            }
        }

        /// Jobs, pods and secrets left in the namespace.
        func leftovers() async throws -> [String] {
            var names: [String] = []
            for path in ["/apis/batch/v1/namespaces/\(namespace)/jobs", "/api/v1/namespaces/\(namespace)/pods", "/api/v1/namespaces/\(namespace)/secrets"] {
                names += try await cluster.names(path).map { "\(path.split(separator: "/").last!)/\($0)" }
            }
            return names
        }

        /// What is still there once the garbage collector had up to 20 seconds.
        func leftoversAfterCleanup() async -> [String] {
            var left: [String] = ["(not listed)"]
            _ = await RunningCommand.until(timeout: .seconds(120)) {
                left = (try? await leftovers()) ?? ["(not listed)"]
                return left.isEmpty
            }
            return left
        }

        func requests() async throws -> [[String: Any]] { try await cluster.requests(namespace: namespace) }

        func count(_ requests: [[String: Any]], verb: String, resource: String, status: Int? = nil) -> Int {
            requests.filter { $0["verb"] as? String == verb && $0["resource"] as? String == resource && (status == nil || $0["status"] as? Int == status) }.count
        }
    }

    @Test func aJobsWholeLifeIsAJobAPodAndASecretThatAreAllDeletedAfterwards() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile()
            + workspace.job("ok", "while [ ! -f \(workspace.root)/go ]; do sleep 0.1; done; " + #"echo "key has ${#API_KEY} characters""#)
            + workspace.job("fails", "echo failing; exit 3"))
        let (controller, _) = try await setup.controller()
        defer { kill(controller.pid, SIGKILL) }

        // While it runs: the Job carries our labels, its pod spec no secret; the Secret has them.
        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            (try? await workspace.records())?["ok"]?.state == .running
        }, "\(controller.stderr)")
        let attempt = try #require(try await workspace.attempts("ok").first)
        let jobPath = "/apis/batch/v1/namespaces/\(setup.namespace)/jobs/\(attempt.taskName)"
        let jobText = try await setup.cluster.request("GET", jobPath)
        #expect(!jobText.contains(setup.environment["RUNWAY_SECRET_RW"]!) && !jobText.contains(Data(setup.environment["RUNWAY_SECRET_RW"]!.utf8).base64EncodedString()))
        #expect(!jobText.contains("RUNWAY_TASK_TOKEN"), "the token is in the Secret, not the pod spec")
        let job = try await setup.cluster.object(jobPath)
        let labels = (job["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
        #expect(labels[TaskLabels.managedBy] == setup.controllerID && labels[TaskLabels.job] == "ok" && labels[TaskLabels.attempt] == "1")
        let spec = job["spec"] as? [String: Any] ?? [:]
        #expect(spec["backoffLimit"] as? Int == 0)
        let template = spec["template"] as? [String: Any] ?? [:]
        #expect((template["spec"] as? [String: Any])?["restartPolicy"] as? String == "Never")
        #expect(((template["metadata"] as? [String: Any])?["labels"] as? [String: String])?[TaskLabels.profile] == "k8s")
        let secret = try await setup.cluster.object("/api/v1/namespaces/\(setup.namespace)/secrets/\(attempt.taskName)-env")
        let data = secret["data"] as? [String: String] ?? [:]
        #expect(data["API_KEY"] == Data(setup.environment["RUNWAY_SECRET_RW"]!.utf8).base64EncodedString() && data["RUNWAY_TASK_TOKEN"] != nil)
        let owners = (secret["metadata"] as? [String: Any])?["ownerReferences"] as? [[String: Any]] ?? []
        #expect(owners.first?["kind"] as? String == "Job" && owners.first?["uid"] as? String == (job["metadata"] as? [String: Any])?["uid"] as? String)
        try "go".write(toFile: workspace.root + "/go", atomically: true, encoding: .utf8)  // the job may finish now

        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            let records = (try? await workspace.records()) ?? [:]
            return records["ok"]?.state == .succeeded && records["fails"]?.state == .failed
        }, "\(controller.stderr)")
        let records = try await workspace.records()
        #expect(records["fails"]?.exitCode == 3)
        let logs = try await RunwayExecutable.run(["logs", "ok", "--state-dir", workspace.state])
        #expect(logs.stdout == "key has \(setup.environment["RUNWAY_SECRET_RW"]!.count) characters\n")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "the Job, its pod and its Secret are gone: \(left)")
        let requests = try await setup.requests()
        #expect(setup.count(requests, verb: "delete", resource: "jobs") == 2, "one stop each")
        #expect(!requests.contains { $0["status"] as? Int == 422 }, "every object Runway sent was valid")
        kill(controller.pid, SIGTERM)
        #expect(await controller.wait(timeout: .seconds(60)).status == 0)
    }

    @Test func aBadImageFailsTheAttemptWithANamedReasonAndItsJobIsDeleted() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile(image: "registry.invalid/nope:1") + workspace.job("pull", "echo never"))
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let record = try #require(try await workspace.records()["pull"])
        #expect(record.state == .failed)
        #expect(record.lastReason?.contains("ErrImagePull") == true || record.lastReason?.contains("ImagePullBackOff") == true, "\(record.lastReason ?? "")")
        #expect(record.lastReason?.contains("registry.invalid/nope:1") == true, "\(record.lastReason ?? "")")
        let explain = try await RunwayExecutable.run(["explain", "pull", "--state-dir", workspace.state])
        #expect(explain.stdout.contains("ErrImagePull") || explain.stdout.contains("ImagePullBackOff"), "\(explain.stdout)")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "the Job, its pod and its Secret are gone: \(left)")
    }

    @Test func anUnschedulablePodFailsItsAttemptWithTheSchedulersMessage() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile(extra: ", nodeSelector: {disktype: ssd}") + workspace.job("nowhere", "echo never"))
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let record = try #require(try await workspace.records()["nowhere"])
        #expect(record.lastReason?.contains("Unschedulable: 0/1 nodes are available") == true, "\(record.lastReason ?? "")")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "the Job, its pod and its Secret are gone: \(left)")
    }

    @Test func aJobDeletedOutOfBandIsTaskLostAndRetried() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile()
            + workspace.job("deleted", #"if [ "$RUNWAY_ATTEMPT" = 1 ]; then sleep 120; fi; echo second attempt"#, retries: 1))
        let (controller, _) = try await setup.controller()
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records())?["deleted"]?.state == .running }, "\(controller.stderr)")
        let task = try #require(try await workspace.attempts("deleted").first).taskName
        try await setup.cluster.request(
            "DELETE", "/apis/batch/v1/namespaces/\(setup.namespace)/jobs/\(task)", json: #"{"propagationPolicy":"Background"}"#)
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records())?["deleted"]?.state == .succeeded }, "\(controller.stderr)")
        let attempts = try await workspace.attempts("deleted")
        #expect(attempts.count == 2)
        #expect(attempts.first?.reason?.contains("task-lost") == true, "\(attempts.first?.reason ?? "")")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "the Job, its pod and its Secret are gone: \(left)")
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }

    /// The API server creates the Job but its answer is held back; the controller is killed
    /// before it can record the start. The restarted controller adopts the Job: one Job, one
    /// attempt, one run.
    @Test func aCrashBetweenCreateAndRecordIsAdopted() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try await setup.cluster.fault(#"{"namespace":"\#(setup.namespace)","verb":"create","resource":"jobs","delay":30,"after":true,"count":1}"#)
        try workspace.write("all.yaml", setup.profile() + workspace.job("adopt", "sleep 3; echo ran once"))
        let (first, port) = try await setup.controller()
        let jobs = "/apis/batch/v1/namespaces/\(setup.namespace)/jobs"
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await setup.cluster.names(jobs))?.count == 1 }, "\(first.stderr)")
        kill(first.pid, SIGKILL)
        _ = await first.wait(timeout: .seconds(60))
        let events = try await workspace.store().events(job: "adopt")
        #expect(!events.contains { $0.kind == "task-started" }, "the premise: the start was not recorded")

        let (second, _) = try await setup.controller(port: port)
        defer { kill(second.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(180)) { (try? await workspace.records())?["adopt"]?.state == .succeeded }, "\(second.stderr)")
        #expect(try await workspace.attempts("adopt").count == 1)
        let logs = try await RunwayExecutable.run(["logs", "adopt", "--state-dir", workspace.state])
        #expect(logs.stdout == "ran once\n")
        let requests = try await setup.requests()
        #expect(setup.count(requests, verb: "create", resource: "jobs", status: 201) == 1, "one Job was ever created")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "the Job, its pod and its Secret are gone: \(left)")
        kill(second.pid, SIGTERM)
        _ = await second.wait(timeout: .seconds(60))
    }

    @Test func twoHundredFiftyJobsAreListedAcrossPages() async throws {
        let setup = try await Setup()
        let controllerID = setup.controllerID
        // Pods that no node takes stay Pending: 250 Jobs without 250 processes.
        let config = LauncherConformanceTests.config("{namespace: \(setup.namespace), nodeSelector: {pool: none}, unschedulableTimeout: 1h}")
        let launcher = KubernetesLauncher(environment: ["KUBECONFIG": setup.kubeconfig], pageSize: 100)
        _ = launcher.validate(config: config)
        var handles: [TaskHandle] = []
        for index in 0..<250 {
            let owner = TaskOwner(job: "page-\(index)", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "k8s")
            handles.append(try await launcher.startTask(TaskSpec(
                name: owner.taskName(), labels: TaskLabels.labels(controllerID: controllerID, owner: owner), owner: owner,
                image: TestKubernetes.shellImage, entrypoint: ["/bin/sh", "-c", "true"], config: config)))
        }
        let before = try await setup.requests().count
        let tasks = try await launcher.listTasks(managedBy: controllerID)
        #expect(tasks.count == 250 && Set(tasks.map(\.name)).count == 250)
        #expect(Set(tasks.compactMap(\.owner?.job)) == Set((0..<250).map { "page-\($0)" }))
        #expect(tasks.allSatisfy { $0.state == .pending })
        let listing = Array(try await setup.requests().dropFirst(before))
        #expect(setup.count(listing, verb: "list", resource: "jobs") == 3 && setup.count(listing, verb: "list", resource: "pods") == 3,
            "100 + 100 + 50, for Jobs and for pods")
        for handle in handles { try await launcher.stopTask(handle) }
        #expect(try await launcher.listTasks(managedBy: controllerID).isEmpty)
    }

    @Test func aStormOf429sIsRetriedAndNothingIsLost() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        try await setup.cluster.fault(#"{"namespace":"\#(setup.namespace)","status":429,"retryAfter":1,"count":6}"#)
        try await setup.cluster.fault(#"{"namespace":"\#(setup.namespace)","status":500,"count":2}"#)
        try workspace.write("all.yaml", setup.profile() + (1...3).map { workspace.job("storm-\($0)", "echo \($0)") }.joined())
        let result = try await setup.apply()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let records = try await workspace.records()
        #expect((1...3).allSatisfy { records["storm-\($0)"]?.state == .succeeded && records["storm-\($0)"]?.attempt == 1 })
        let requests = try await setup.requests()
        #expect(requests.filter { $0["status"] as? Int == 429 }.count == 6 && requests.filter { $0["status"] as? Int == 500 }.count == 2,
            "the premise: the faults were served")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "the Job, its pod and its Secret are gone: \(left)")
    }

    /// Every profile key that reaches the Job, set at once: the server (official schemas,
    /// strict) accepts the Job Runway builds from it.
    @Test func aJobWithEveryConfigKeyIsValid() async throws {
        let setup = try await Setup()
        let config = LauncherConformanceTests.config("""
            {namespace: \(setup.namespace), serviceAccount: runner, imagePullPolicy: IfNotPresent, imagePullSecrets: [registry],
             resources: {requests: {cpu: 250m, memory: 256Mi, ephemeral-storage: 1Gi}, limits: {cpu: "1", memory: 1Gi}},
             nodeSelector: {kubernetes.io/os: linux}, tolerations: [{key: dedicated, operator: Equal, value: runners, effect: NoSchedule}],
             affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]}]}},
                        podAntiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 10, podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: runner}}}}]}},
             priorityClassName: batch-low, securityContext: {runAsUser: 1000, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}},
             podSecurityContext: {fsGroup: 2000, seccompProfile: {type: RuntimeDefault}}, annotations: {team: web}, labels: {app: runner},
             automountServiceAccountToken: true, ttlSecondsAfterFinished: 600, grace: 5s}
            """)
        let launcher = KubernetesLauncher(environment: ["KUBECONFIG": setup.kubeconfig])
        #expect(launcher.validate(config: config).isEmpty)
        let owner = TaskOwner(job: "every-key", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "k8s")
        let handle = try await launcher.startTask(TaskSpec(
            name: owner.taskName(), labels: TaskLabels.labels(controllerID: setup.controllerID, owner: owner), owner: owner,
            image: TestKubernetes.shellImage, entrypoint: ["/bin/sh", "-c", "true"], arguments: ["runner"],
            environment: ["RUNWAY_TASK_TOKEN": "t", "PLAIN": "1"], secretEnvironment: ["SECRET": "s"], config: config,
            deadline: .seconds(90)))
        let job = try await setup.cluster.object("/apis/batch/v1/namespaces/\(setup.namespace)/jobs/\(owner.taskName())")
        let spec = job["spec"] as? [String: Any] ?? [:]
        #expect(spec["activeDeadlineSeconds"] as? Int == 90 && spec["ttlSecondsAfterFinished"] as? Int == 600)
        let pod = ((spec["template"] as? [String: Any])?["spec"] as? [String: Any]) ?? [:]
        let container = (pod["containers"] as? [[String: Any]])?.first ?? [:]
        let security = container["securityContext"] as? [String: Any] ?? [:]
        #expect(security["runAsUser"] as? Int == 1000 && security["allowPrivilegeEscalation"] as? Bool == false,
            "the defaults stay unless overridden: \(security)")
        let podSecurity = pod["securityContext"] as? [String: Any] ?? [:]
        #expect(podSecurity["runAsNonRoot"] as? Bool == true && podSecurity["runAsUser"] as? Int == 65532 && podSecurity["fsGroup"] as? Int == 2000,
            "the pod's defaults stay beside the given keys, which name no user: \(podSecurity)")
        #expect(pod["terminationGracePeriodSeconds"] as? Int == 5 && pod["priorityClassName"] as? String == "batch-low")
        #expect(!(try await setup.requests()).contains { $0["status"] as? Int == 422 })
        try await launcher.stopTask(handle)
    }

    @Test func theKubernetesSampleRunsAndLeavesNothing() async throws {
        let setup = try await Setup()
        try await setup.cluster.request(
            "POST", "/api/v1/namespaces", json: #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"runway-runners"}}"#, expect: [201, 409])
        let result = try await setup.workspace.apply(
            extra: ["--controller-id", setup.controllerID], directory: Repository.path("Samples/kubernetes"),
            environment: setup.environment.merging(["RUNWAY_SECRET_DEPLOY_TOKEN": "twelve-chars"]) { $1 })
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("3/3 jobs succeeded"))
        let deploy = try await RunwayExecutable.run(["logs", "deploy", "--state-dir", setup.workspace.state])
        #expect(deploy.stdout == "hello from a pod, deploying with a token of 12 characters\n", "\(deploy.stdout)")
        let selector = "labelSelector=runway.io%2Fmanaged-by%3D\(setup.controllerID)"
        var left: [String] = []
        _ = await RunningCommand.until(timeout: .seconds(120)) {
            left = []
            for path in ["/apis/batch/v1/namespaces/runway-runners/jobs", "/api/v1/namespaces/runway-runners/pods", "/api/v1/namespaces/runway-runners/secrets"] {
                left += (try? await setup.cluster.names(path + "?" + selector)) ?? ["(not listed)"]
            }
            return left.isEmpty
        }
        #expect(left.isEmpty, "\(left)")
    }
}
