import Foundation
import RunwayModel
import RunwayRunner
import RunwayTestSupport
import Testing

/// `runway apply` and `runway controller` with `plugin: docker` against a real Docker engine
/// (the one scripts/test.sh starts): runner containers connect back over the host network.
@Suite(.leavesNoProcesses, .serialized, .enabled(if: TestDocker.shouldRun, "no Docker engine (RUNWAY_TEST_DOCKER_HOST unset); scripts/test.sh starts one"))
struct DockerTests {
    /// A workspace whose tasks are labelled with a controller id of their own.
    struct Setup {
        let workspace: Workspace
        let host: String
        var controllerID: String { "rw-\(workspace.tag)" }
        var label: String { "runway.io/managed-by=\(controllerID)" }
        var environment: [String: String] { ["DOCKER_HOST": host] }

        init() throws {
            workspace = try Workspace()
            host = try TestDocker.requireHost()
        }

        func profile(
            _ name: String = "docker", image: String = TestDocker.image, maxConcurrent: Int? = nil, memory: String? = nil,
            isDefault: Bool = true, useInit: Bool = false, config extra: String = "pull: never"
        ) -> String {
            var config = "{network: host, grace: 2s, init: \(useInit), \(extra)"
            if let memory { config += ", resources: {memory: \(memory)}" }
            config += "}"
            return """
                apiVersion: runway/v1
                kind: RunnerProfile
                metadata: {name: \(name)}
                spec:
                  plugin: docker
                  default: \(isDefault)
                  image: \(image)
                  startTimeout: 60s
                  config: \(config)

                """ + (maxConcurrent.map { "  maxConcurrent: \($0)\n" } ?? "")
        }

        func apply(directory: String? = nil) async throws -> CommandResult {
            try await workspace.apply(extra: ["--controller-id", controllerID], directory: directory, environment: environment)
        }

        var leftovers: [String] { get async { (try? await TestDocker.containers(label: label)) ?? ["(docker ps failed)"] } }
    }

    @Test func successFailureAndTimeoutEachEndAsTheyShould() async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile()
            + workspace.job("ok", "echo ok from a container")
            + workspace.job("fails", "echo failing; exit 3")
            + workspace.job("slow", "sleep 60", timeout: "3s"))
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let records = try await workspace.records()
        #expect(records["ok"]?.state == .succeeded)
        #expect(records["fails"]?.state == .failed && records["fails"]?.exitCode == 3)
        #expect(records["slow"]?.state == .failed && records["slow"]?.lastReason?.contains("timed-out") == true)
        let logs = try await RunwayExecutable.run(["logs", "ok", "--state-dir", workspace.state])
        #expect(logs.stdout == "ok from a container\n")
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty, "every container was removed: \(leftovers)")
    }

    /// A background child, or one that called setsid, neither holds the job past the output drain
    /// nor keeps its container running, with the runner as PID 1 or under the engine's init.
    @Test(arguments: [false, true]) func backgroundChildrenDoNotHoldAContainersJob(useInit: Bool) async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        // The host's GNU date, for a start time with nanoseconds (busybox's has whole seconds).
        try workspace.write("all.yaml", setup.profile(useInit: useInit, config: "pull: never, binds: [\"/usr/bin/date:/usr/local/bin/gdate:ro\"]")
            + workspace.job("bg", "gdate +%s.%N; sleep 300 & setsid sleep 300 & head -c 40 /proc/1/cmdline | tr '\\\\0' ' '; echo", timeout: "60s")
            // An orphan that exits (its shell gone first) is reaped: no zombie is left in the container.
            + workspace.job("orphans", #"sh -c 'sleep 0.2 &'; sleep 1; echo zombies=$(awk '$3 == "Z"' /proc/[0-9]*/stat | wc -l)"#))
        let result = try await setup.apply()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let (ran, rest) = try await workspace.secondsFromFirstLineToReport("bg")
        let drain = Double(RunnerAgent.outputDrain.components.seconds)
        if TimingChecks.enabled { #expect(ran < drain + 1, "ran \(ran) s, drain \(drain) s") }
        // PID 1 is the engine's init when the profile asks for it, else the runner itself.
        let pid1 = rest.first.map(String.init) ?? ""
        #expect(pid1.hasPrefix(useInit ? "/sbin/docker-init" : "/usr/local/bin/runway"), "\(pid1)")
        #expect(try await RunwayExecutable.run(["logs", "orphans", "--state-dir", workspace.state]).stdout == "zombies=0\n")
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty, "every container was removed: \(leftovers)")
    }

    /// An engine whose image pull stalls (the fault proxy answers 200 and then sends nothing):
    /// the start fails at the profile's pullStallTimeout with that reason, while jobs on another
    /// profile start, end and time out on time meanwhile.
    @Test func aStalledPullTimesOutWithItsReasonAndOtherProfilesKeepTheirTimes() async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        let proxy = try await FaultProxy()
        defer { proxy.close() }
        try await proxy.fault(#"{"kind":"stall","method":"POST","path":"/images/create","stall":120,"count":100}"#)
        try workspace.write("all.yaml", workspace.profile() + "---\n"
            + setup.profile("stuck", isDefault: false, config: "host: \"\(proxy.host)\", pull: always, pullStallTimeout: 15s")
            + workspace.job("pulled", "echo never", profile: "stuck")
            + workspace.job("quick-1", "echo one") + workspace.job("quick-2", "echo two")
            + workspace.job("timed", "sleep 60", timeout: "2s"))
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        let records = try await workspace.records()
        let pulled = try #require(records["pulled"])
        #expect(pulled.state == .failed)
        #expect(pulled.lastReason?.contains("cannot pull \(TestDocker.image): Operation too slow") == true, "\(pulled.lastReason ?? "")")
        #expect(pulled.lastReason?.contains("15s without progress") == true, "\(pulled.lastReason ?? "")")
        #expect(records["quick-1"]?.state == .succeeded && records["quick-2"]?.state == .succeeded)
        // The local jobs did not wait for the pull: done, and timed out, well before it failed.
        let failedAt = try #require(try await workspace.attempts("pulled").first?.completedAt ?? records["pulled"]?.updatedAt)
        for job in ["quick-1", "quick-2"] {
            let ended = try #require(try await workspace.attempts(job).first?.completedAt)
            #expect(ended < failedAt.addingTimeInterval(-5), "\(job) ended at \(ended), the pull failed at \(failedAt)")
        }
        let judged = try await workspace.secondsUntilStopped("timed")
        #expect(records["timed"]?.lastReason?.contains("timed-out") == true && judged < 5, "timed out after \(judged) s")
        #expect(try await proxy.injected()["stall"] ?? 0 >= 1)
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty, "every container was removed: \(leftovers)")
    }

    @Test func aContainerKilledOrRemovedOutOfBandIsRetriedAsTaskLost() async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        let script = #"if [ "$RUNWAY_ATTEMPT" = 1 ]; then sleep 120; fi; echo second attempt"#
        try workspace.write("all.yaml", setup.profile()
            + workspace.job("killed", script, retries: 1) + workspace.job("removed", script, retries: 1))
        let (controller, _) = try await RunningCommand.serving(directory: workspace.root, environment: setup.environment) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)",
             "--controller-id", setup.controllerID, "--resync", "2s"]
        }
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            let records = (try? await workspace.records()) ?? [:]
            return records["killed"]?.state == .running && records["removed"]?.state == .running
        }, "\(controller.stderr)")
        let killedTask = try #require(try await workspace.attempts("killed").first).taskName
        let removedTask = try #require(try await workspace.attempts("removed").first).taskName
        try await TestDocker.cli("kill \(killedTask)")
        try await TestDocker.cli("rm -f \(removedTask)")

        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            let records = (try? await workspace.records()) ?? [:]
            return records["killed"]?.state == .succeeded && records["removed"]?.state == .succeeded
        }, "\(controller.stderr)")
        let killed = try await workspace.attempts("killed")
        let removed = try await workspace.attempts("removed")
        #expect(killed.count == 2 && removed.count == 2)
        #expect(killed.first?.reason?.contains("task-lost (its task exited with code 137") == true, "\(killed.first?.reason ?? "")")
        // `docker rm -f` kills before it removes: a pass in between sees the container exited.
        let removedReason = removed.first?.reason ?? ""
        #expect(removedReason == "attempt 1: task-lost (its task disappeared)"
            || removedReason.hasPrefix("attempt 1: task-lost (its task exited with code 137"), "\(removedReason)")
        var leftovers: [String] = []
        #expect(await RunningCommand.until {
            leftovers = await setup.leftovers
            return leftovers.isEmpty
        }, "\(leftovers)")
        kill(controller.pid, SIGTERM)
        #expect(await controller.wait(timeout: .seconds(60)).status == 0)
    }

    @Test func aForeignContainerWithSimilarLabelsIsNeverTouched() async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        // Someone else's runner, and one whose controller id merely starts with ours.
        let foreign = ["rw-foreign-\(workspace.tag)": "someone-else", "rw-prefix-\(workspace.tag)": "\(setup.controllerID)-2"]
        for (name, owner) in foreign {
            let run = try await TestDocker.cli(
                "run -d --name \(name) --label runway.io/managed-by=\(owner) --label runway.io/job=ok "
                    + "--label runway.io/generation=0000000000000000 --label runway.io/attempt=1 --label runway.io/profile=docker "
                    + "--entrypoint /bin/sleep \(TestDocker.image) 300")
            try #require(run.status == 0, "\(run.stderr)")
        }
        defer {  // a defer cannot await: the brief removal blocks its thread
            let host = (try? TestDocker.requireHost()) ?? ""
            for name in foreign.keys { _ = try? RunningCommand.shell("DOCKER_HOST='\(host)' docker rm -f \(name)", directory: "/") }
        }
        try workspace.write("all.yaml", setup.profile() + workspace.job("ok", "echo ok"))
        let result = try await setup.apply()
        #expect(result.status == 0, "\(result.stderr)")
        for name in foreign.keys {
            let state = try await TestDocker.cli("inspect -f '{{.State.Running}}' \(name)")
            #expect(state.stdout == "true\n", "\(name) was touched: \(state.stdout)\(state.stderr)")
        }
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty)
    }

    @Test func runningOutOfMemoryIsReportedAsSuch() async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        try workspace.write("all.yaml", setup.profile(memory: "64Mi")
            + workspace.job("hog", #"x=$(head -c 200000000 /dev/zero | tr "\0" a); echo ${#x}"#))
        let result = try await setup.apply()
        #expect(result.status == 1)
        let record = try #require(try await workspace.records()["hog"])
        #expect(record.state == .failed)
        #expect(record.lastReason?.contains("OOMKilled") == true, "\(record.lastReason ?? "")")
        let explain = try await RunwayExecutable.run(["explain", "hog", "--state-dir", workspace.state])
        #expect(explain.stdout.contains("platform-reason #1  docker says of runway-hog-"), "\(explain.stdout)")
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty)
    }

    @Test func pullNeverWithAMissingImageFailsWithAClearReason() async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        let image = "runway-runner:missing-\(workspace.tag)"
        try workspace.write("all.yaml", setup.profile(image: image) + workspace.job("needs-image", "echo never runs"))
        let result = try await setup.apply()
        #expect(result.status == 1)
        let explain = try await RunwayExecutable.run(["explain", "needs-image", "--state-dir", workspace.state])
        #expect(explain.stdout.hasPrefix(
            "needs-image: failed: attempt 1: start failed: docker launcher: invalidSpec (task runway-needs-image-"),
            "\(explain.stdout)")
        #expect(explain.stdout.contains("image \(image) is not on the Docker engine at \(setup.host) and the profile says pull: never"))
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty)
    }

    @Test func fiftyJobsWithMaxConcurrentFiveNeverRunMoreThanFiveContainers() async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        var manifest = setup.profile(maxConcurrent: 5)
        for index in 1...50 { manifest += workspace.job("job-\(index)", "sleep 0.2; echo \(index)") }
        try workspace.write("all.yaml", manifest)
        let apply = try workspace.startApply(extra: ["--controller-id", setup.controllerID], environment: setup.environment)
        var most = 0
        var samples = 0
        while !apply.hasExited {
            let live = try await TestDocker.containers(label: setup.label).count
            most = max(most, live)
            samples += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        let result = await apply.wait()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("50/50 jobs succeeded"))
        #expect(most <= 5, "at most 5 containers (in any state) at once, saw \(most)")
        #expect(most >= 2 && samples > 10, "the sampling saw the containers run (most \(most), \(samples) samples)")
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty)
    }

    @Test func theDockerSampleRunsInContainersThatAreRemovedAfterwards() async throws {
        let setup = try Setup()
        let result = try await setup.apply(directory: Repository.path("Samples/docker"))
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("4/4 jobs succeeded"))
        let inside = try await RunwayExecutable.run(["logs", "inside", "--state-dir", setup.workspace.state])
        #expect(inside.stdout.hasPrefix("hello from a container: Linux 0 in /work\n"), "\(inside.stdout)")
        let debian = try await RunwayExecutable.run(["logs", "in-debian", "--state-dir", setup.workspace.state])
        #expect(debian.stdout.hasPrefix("Debian 12."), "\(debian.stdout)")
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty)
    }
}
