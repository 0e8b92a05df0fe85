import Foundation
import RunwayHTTP
import RunwayModel
import RunwayTestSupport
import Testing

/// A real `runway controller` process on loopback, driven by editing its directory.
@Suite(.leavesNoProcesses, .serialized) struct ControllerTests {
    struct Controller {
        let process: RunningCommand
        let port: Int

        func readyz() async -> (Int, String) {
            guard let response = try? await HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/readyz")) else {
                return (0, "")
            }
            return (response.status, response.text)
        }
    }

    /// A controller on a port the system picks, or on `port` (an earlier controller's).
    func startController(_ workspace: Workspace, port: Int = 0, extra: [String] = []) async throws -> Controller {
        let (process, bound) = try await RunningCommand.serving(port: port, directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)",
             "--lease-duration", "3s", "--resync", "5s"] + extra
        }
        return Controller(process: process, port: bound)
    }

    func state(_ workspace: Workspace, _ job: String) async -> JobRecord.State? {
        try? await workspace.records()[job]?.state
    }

    /// A controller killed outright and started again on the same state dir takes over its dead
    /// predecessor's lease at once (its process is gone from this host) instead of waiting out a
    /// minute-long lease, and its running job goes on to succeed.
    @Test func aControllerRestartedAfterKill9TakesOverAtOnce() async throws {
        let workspace = try Workspace()
        let go = workspace.root + "/go"
        try workspace.write("a.yaml", workspace.profile() + workspace.job("long", "while [ ! -e \(go) ]; do sleep 0.1; done; echo done"))
        let first = try await startController(workspace, extra: ["--lease-duration", "60s"])
        #expect(await RunningCommand.until { await state(workspace, "long") == .running }, "\(first.process.stderr)")
        kill(first.process.pid, SIGKILL)
        _ = await first.process.wait(timeout: .seconds(60))
        let second = try await startController(workspace, port: first.port, extra: ["--lease-duration", "60s"])
        #expect(await RunningCommand.until { second.process.stderr.contains("leading") }, "\(second.process.stderr)")
        #expect(second.process.stderr.contains("the lease's holder is gone from this host; taking over"))
        #expect(FileManager.default.createFile(atPath: go, contents: nil))
        #expect(await RunningCommand.until { await state(workspace, "long") == .succeeded }, "\(second.process.stderr)")
        kill(second.process.pid, SIGTERM)
        #expect(await second.process.wait(timeout: .seconds(60)).status == 0)
    }

    @Test func addingEditingAndRemovingManifestsStartsAndStopsTasks() async throws {
        let workspace = try Workspace()
        try workspace.write("profile.yaml", workspace.profile())
        let controller = try await startController(workspace)
        #expect(await RunningCommand.until { await controller.readyz().0 == 200 })

        try workspace.write("one.yaml", workspace.job("one", "echo first"))
        #expect(await RunningCommand.until { await state(workspace, "one") == .succeeded })
        try workspace.write("one.yaml", workspace.job("one", "echo second"))
        #expect(await RunningCommand.until {
            let attempts = (try? await workspace.attempts("one").count) ?? 0
            let current = await state(workspace, "one")
            return attempts == 2 && current == .succeeded
        })
        let marker = workspace.root + "/long-started"
        try workspace.write("long.yaml", workspace.job("long", "touch \(marker); sleep 60"))
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: marker) })
        try workspace.remove("long.yaml")
        #expect(await RunningCommand.until { await state(workspace, "long") == .cancelled })
        #expect(await RunningCommand.until { workspace.liveJobProcesses.isEmpty && workspace.leftoverTasks.isEmpty })

        kill(controller.process.pid, SIGTERM)
        let result = await controller.process.wait(timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func aBrokenManifestStopsNothingAndIsReported() async throws {
        let workspace = try Workspace()
        let marker = workspace.root + "/started"
        try workspace.write("a.yaml", workspace.profile() + workspace.job("steady", "touch \(marker); sleep 4; echo done"))
        let controller = try await startController(workspace)
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: marker) })
        try workspace.write("broken.yaml", "apiVersion: runway/v1\nkind: Job\nmetadata: {name: x}\nspec: {command: [sh], retries: x-secret-value}\n")
        #expect(await RunningCommand.until { await controller.readyz().0 == 503 })
        let (_, detail) = await controller.readyz()
        // The place and the code only: /readyz is open, and messages quote values.
        #expect(detail.contains("manifests invalid: 1 error(s), first: \(workspace.manifests)/broken.yaml:"), "\(detail)")
        #expect(detail.contains("broken.yaml:4:32 (") && !detail.contains("x-secret-value"), "\(detail)")
        let status = try await RunwayExecutable.run(["status", "--state-dir", workspace.state])
        #expect(status.stdout.contains("the manifests are invalid"), "\(status.stdout)")
        // The running job was not touched, and finishes.
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await state(workspace, "steady") == .succeeded })
        try workspace.remove("broken.yaml")
        #expect(await RunningCommand.until { await controller.readyz().0 == 200 })
        kill(controller.process.pid, SIGTERM)
        await controller.process.wait(timeout: .seconds(60))
    }

    @Test func aTaskKilledOutOfBandIsRetriedAsTaskLost() async throws {
        let workspace = try Workspace()
        let marker = workspace.root + "/started"
        try workspace.write("a.yaml", workspace.profile() + workspace.job(
            "target", "if [ $RUNWAY_ATTEMPT = 1 ]; then touch \(marker); sleep 60; fi; echo ok", retries: 1))
        let controller = try await startController(workspace)
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: marker) })
        // Someone else kills the whole task (the runner's process group).
        let runner = try #require(processes(withEnvironment: "RUNWAY_JOB=target").first.flatMap { pid in
            getpgid(pid) > 0 ? getpgid(pid) : nil
        })
        kill(-runner, SIGKILL)
        #expect(await RunningCommand.until { await state(workspace, "target") == .succeeded })
        let attempts = try await workspace.attempts("target")
        #expect(attempts.count == 2)
        #expect(attempts.first?.reason?.contains("task-lost") == true, "\(attempts.first?.reason ?? "")")
        kill(controller.process.pid, SIGTERM)
        await controller.process.wait(timeout: .seconds(60))
    }

    @Test func sigtermMidJobThenRestartFinishesTheJobOnce() async throws {
        let workspace = try Workspace()
        let runs = workspace.root + "/runs"
        try workspace.write("a.yaml", workspace.profile() + workspace.job("survivor", "echo run >> \(runs); sleep 3; echo done"))
        let first = try await startController(workspace)
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: runs) })
        kill(first.process.pid, SIGTERM)
        let stopped = await first.process.wait(timeout: .seconds(60))
        #expect(stopped.status == 0)
        #expect(!workspace.liveJobProcesses.isEmpty, "the job keeps running without its controller")

        let second = try await startController(workspace, port: first.port)
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await state(workspace, "survivor") == .succeeded })
        #expect(try String(contentsOfFile: runs, encoding: .utf8) == "run\n", "ran exactly once")
        #expect(try await workspace.attempts("survivor").count == 1)
        #expect(await RunningCommand.until { workspace.leftoverTasks.isEmpty && workspace.liveJobProcesses.isEmpty })
        kill(second.process.pid, SIGTERM)
        await second.process.wait(timeout: .seconds(60))
    }

    @Test func aStandbyTakesOverWhenTheLeaderDies() async throws {
        let workspace = try Workspace()
        try workspace.write("a.yaml", workspace.profile() + workspace.job("before", "echo before"))
        let leader = try await startController(workspace)
        #expect(await RunningCommand.until { await state(workspace, "before") == .succeeded })
        let standby = try await startController(workspace)
        #expect(await RunningCommand.until { await standby.readyz().1.hasPrefix("standby") })
        let leaderDetail = await leader.readyz().1
        #expect(leaderDetail.hasPrefix("leader"))

        kill(leader.process.pid, SIGKILL)
        await leader.process.wait()
        let killedAt = ContinuousClock.now
        try workspace.write("b.yaml", workspace.job("after", "echo after"))
        #expect(await RunningCommand.until { await standby.readyz().1.hasPrefix("leader") })
        let handover = ContinuousClock.now - killedAt
        #expect(handover < .seconds(10), "took over after \(handover) with a 3s lease")
        #expect(await RunningCommand.until { await state(workspace, "after") == .succeeded })
        #expect(try await workspace.attempts("before").count == 1)
        kill(standby.process.pid, SIGTERM)
        await standby.process.wait(timeout: .seconds(60))
    }

    /// A task of ours that no job and no record owns (its state was lost) is stopped as an
    /// orphan and counted in `runway_orphans_stopped_total`.
    @Test func anOrphanIsStoppedAndCounted() async throws {
        let first = try Workspace()
        let marker = first.root + "/started"
        try first.write("a.yaml", first.profile() + first.job("stray", "touch \(marker); sleep 60"))
        let apply = try first.startApply()
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: marker) })
        kill(apply.pid, SIGKILL)
        await apply.wait()
        #expect(!first.liveJobProcesses.isEmpty)

        // A controller on a new state that finds the stray task's record among its own.
        let second = try Workspace()
        try second.write("a.yaml", second.profile())
        try FileManager.default.createDirectory(atPath: second.state + "/tasks", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: first.state + "/tasks/local", toPath: second.state + "/tasks/local")
        let controller = try await startController(second)
        #expect(await RunningCommand.until { first.liveJobProcesses.isEmpty }, "the orphan's processes were stopped")
        #expect(await RunningCommand.until {
            let metrics = try? await HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(controller.port)/metrics")).text
            return metrics?.contains("runway_orphans_stopped_total 1\n") == true
        })
        #expect(second.leftoverTasks.isEmpty)
        kill(controller.process.pid, SIGTERM)
        await controller.process.wait(timeout: .seconds(60))
    }

    /// git-sync flips a symlink from one checkout to the next; both watch modes follow it.
    @Test(arguments: [[], ["--poll", "200ms"]])
    func aSymlinkFlipToANewCheckoutIsFollowed(watchMode: [String]) async throws {
        let workspace = try Workspace()
        let first = workspace.root + "/checkout-1"
        let second = workspace.root + "/checkout-2"
        for checkout in [first, second] { try FileManager.default.createDirectory(atPath: checkout, withIntermediateDirectories: true) }
        try (workspace.profile() + workspace.job("from-one", "echo one")).write(toFile: first + "/a.yaml", atomically: true, encoding: .utf8)
        try (workspace.profile() + workspace.job("from-two", "echo two"))
            .write(toFile: second + "/a.yaml", atomically: true, encoding: .utf8)
        let link = workspace.root + "/current"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: first)
        let (process, _) = try await RunningCommand.serving(directory: workspace.root) { port in
            ["controller", link, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)", "--resync", "60s"] + watchMode
        }
        #expect(await RunningCommand.until { await state(workspace, "from-one") == .succeeded })
        // The flip, as git-sync does it: a new link renamed over the old one.
        try FileManager.default.createSymbolicLink(atPath: link + ".new", withDestinationPath: second)
        #expect(rename(link + ".new", link) == 0)
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await state(workspace, "from-two") == .succeeded })
        kill(process.pid, SIGTERM)
        await process.wait(timeout: .seconds(60))
    }

    /// `/metrics` passes `promtool check metrics`, and its values follow what happened.
    @Test func metricsAreValidPrometheusAndMove() async throws {
        let promtool = Repository.path(".build/tools/promtool")
        try #require(FileManager.default.isExecutableFile(atPath: promtool), "run scripts/install-promtool.sh (scripts/test.sh does)")
        let workspace = try Workspace()
        try workspace.write("a.yaml", workspace.profile() + workspace.job("measured", "sleep 0.3; echo ok"))
        let controller = try await startController(workspace)
        #expect(await RunningCommand.until { await state(workspace, "measured") == .succeeded })
        let metrics = { (try? await HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(controller.port)/metrics")))?.text ?? "" }
        func value(_ text: String, _ series: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        #expect(await RunningCommand.until { value(await metrics(), "runway_jobs{state=\"succeeded\"}") == 1 })
        // The finished task's stop runs in the background, after the pass that planned it.
        let stops = "runway_launcher_requests_total{plugin=\"local\",operation=\"stop\",outcome=\"ok\"}"
        #expect(await RunningCommand.until { value(await metrics(), stops) == 1 })
        let text = await metrics()
        #expect(value(text, "runway_leader") == 1)
        #expect(value(text, "runway_jobs{state=\"running\"}") == 0)
        #expect(value(text, "runway_task_start_seconds_count") == 1)
        #expect(value(text, "runway_job_queue_seconds_count") == 1)
        #expect(value(text, "runway_job_duration_seconds_count") == 1)
        #expect((value(text, "runway_job_duration_seconds_sum") ?? 0) >= 0.3)
        #expect(value(text, "runway_launcher_requests_total{plugin=\"local\",operation=\"start\",outcome=\"ok\"}") == 1)
        #expect(value(text, "runway_launcher_requests_total{plugin=\"local\",operation=\"stop\",outcome=\"ok\"}") == 1)
        #expect((value(text, "runway_reconcile_duration_seconds_count") ?? 0) >= 2)
        #expect((value(text, "runway_manifest_load_duration_seconds_count") ?? 0) >= 1)
        #expect(value(text, "runway_manifest_errors") == 0)
        #expect(value(text, "runway_reconcile_errors_total") == 0)

        let checked = workspace.root + "/metrics.txt"
        try text.write(toFile: checked, atomically: true, encoding: .utf8)
        let check = try await RunningCommand.shell("\(promtool) check metrics < \(checked)", directory: workspace.root)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        try workspace.write("broken.yaml", "kind: [")
        #expect(await RunningCommand.until { value(await metrics(), "runway_manifest_errors") == 1 })
        kill(controller.process.pid, SIGTERM)
        await controller.process.wait(timeout: .seconds(60))
    }

    /// `--log-format json`: one object per line, and every line about a job names the job, its
    /// attempt and its profile.
    @Test func jsonLogLinesCarryJobAttemptAndProfile() async throws {
        let workspace = try Workspace()
        try workspace.write("a.yaml", workspace.profile("logged-profile") + workspace.job("logged", "echo ok"))
        let controller = try await startController(workspace, extra: ["--log-format", "json"])
        #expect(await RunningCommand.until { await state(workspace, "logged") == .succeeded })
        #expect(await RunningCommand.until { workspace.leftoverTasks.isEmpty })
        kill(controller.process.pid, SIGTERM)
        let result = await controller.process.wait(timeout: .seconds(60))

        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        #expect(objects.count == lines.count, "every line is one JSON object of strings")
        let jobLines = objects.filter { $0["job"] == "logged" }
        let events = Set(jobLines.compactMap { $0["event"] })
        #expect(events.isSuperset(of: ["queued", "held", "start-requested", "task-started", "runner-connected", "running",
            "completed", "stop-requested", "stopped"]), "\(events.sorted())")
        for line in jobLines {
            #expect(line["profile"] == "logged-profile", "\(line)")
            if line["event"] != "queued" { #expect(line["attempt"] == "1", "\(line)") }
        }
        // The launcher's own line about starting the task carries the same keys.
        #expect(objects.contains { $0["label"] == "runway.launcher.local" && $0["message"] == "started task"
            && $0["job"] == "logged" && $0["attempt"] == "1" && $0["profile"] == "logged-profile" })
    }

    /// A platform that cannot be listed holds back only its own jobs: the others run, and its
    /// jobs wait (neither failed as lost nor started again) while the error is logged.
    @Test func anUnreachablePlatformStopsOnlyItsOwnJobs() async throws {
        let workspace = try Workspace()
        try workspace.write("local.yaml", workspace.profile() + workspace.job("healthy", "echo fine"))
        try workspace.write("docker.yaml", """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: gone-docker}
            spec: {plugin: docker, image: runway-runner:dev, config: {host: "unix://\(workspace.root)/no-such-docker.sock"}}

            """ + workspace.job("waits", "echo never", profile: "gone-docker"))
        let controller = try await startController(workspace)
        defer { kill(controller.process.pid, SIGKILL) }
        #expect(await RunningCommand.until { await state(workspace, "healthy") == .succeeded }, "\(controller.process.stderr)")
        #expect(await RunningCommand.until { controller.process.stderr.contains("cannot list tasks; the jobs of this platform wait") })
        #expect(await state(workspace, "waits") == .pending)
        #expect(try await workspace.attempts("waits").isEmpty, "never started while its platform is unknown")
        kill(controller.process.pid, SIGTERM)
        await controller.process.wait(timeout: .seconds(60))
    }
}
