import Foundation
import RunwayModel
import RunwayRunner
import RunwayTestSupport
import Testing

/// Every way an attempt can end, against real processes and the real runner API on loopback.
@Suite(.leavesNoProcesses, .serialized) struct LifecycleIntegrationTests {
    @Test func failureIsRetriedWithBackoffThenFails() async throws {
        let workspace = try Workspace()
        try workspace.write("a.yaml", workspace.profile() + workspace.job("flop", "echo try $RUNWAY_ATTEMPT; exit 2", retries: 2))
        let result = try await workspace.apply()
        #expect(result.status == 1)
        let record = try #require(try await workspace.records()["flop"])
        #expect(record.state == .failed)
        #expect(record.exitCode == 2)
        let attempts = try await workspace.attempts("flop")
        #expect(attempts.map(\.number) == [1, 2, 3])
        #expect(attempts.allSatisfy { $0.exitCode == 2 && $0.stoppedAt != nil })
        // Backoff: 2s * 2^(n-1), jittered into [50%, 100%): at least 1s, then at least 2s.
        let gaps = zip(attempts, attempts.dropFirst()).map { $1.requestedAt.timeIntervalSince($0.completedAt!) }
        #expect(gaps[0] >= 0.95 && gaps[1] >= 1.95, "gaps \(gaps)")
        let logs = try await RunwayExecutable.run(["logs", "flop", "--attempt", "2", "--state-dir", workspace.state])
        #expect(logs.stdout == "try 2\n")
        // Output may hold secrets: the controller's user's alone.
        let files = FileManager.default
        #expect(try files.attributesOfItem(atPath: workspace.state + "/logs")[.posixPermissions] as? Int == 0o700)
        let log = try #require(try files.contentsOfDirectory(atPath: workspace.state + "/logs").first)
        #expect(try files.attributesOfItem(atPath: workspace.state + "/logs/" + log)[.posixPermissions] as? Int == 0o600)
    }

    /// A stop's SIGTERM reaches every process of the job, also one that left its process group.
    @Test(arguments: ["sleep 60 & wait", "setsid sleep 60 & wait"])
    func timeoutStopsTheJobAndItsChildren(script: String) async throws {
        let workspace = try Workspace()
        try workspace.write("a.yaml", workspace.profile() + workspace.job("slow", script, timeout: "1s"))
        let result = try await workspace.apply()
        #expect(result.status == 1)
        let record = try #require(try await workspace.records()["slow"])
        #expect(record.lastReason == "attempt 1: timed-out (ran longer than its 1s timeout)")
        #expect(workspace.liveJobProcesses.isEmpty, "the job's own child was stopped too")
        #expect(workspace.leftoverTasks.isEmpty)
    }

    /// The job ends when its command ends: a child left running in the background (holding the
    /// output pipe open) or one that left the session with `setsid` is stopped after the drain,
    /// and the job succeeds without waiting for either.
    @Test(arguments: ["sleep 300 & echo hi", "setsid sleep 300 & echo hi", "setsid sh -c 'sleep 300 & exit' >/dev/null 2>&1; echo hi"])
    func backgroundChildrenNeitherHoldTheJobNorOutliveIt(script: String) async throws {
        let workspace = try Workspace()
        try workspace.write("a.yaml", workspace.profile() + workspace.job("bg", "date +%s.%N; " + script, timeout: "60s"))
        let result = try await workspace.apply()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try await workspace.records()["bg"]?.state == .succeeded)
        let (ran, rest) = try await workspace.secondsFromFirstLineToReport("bg")
        #expect(rest == ["hi"])
        let drain = Double(RunnerAgent.outputDrain.components.seconds)
        if TimingChecks.enabled { #expect(ran < drain + 1, "ran \(ran) s, drain \(drain) s") }
        #expect(workspace.liveJobProcesses.isEmpty, "no sleep is left running")
    }

    @Test func runnerThatNeverConnectsFailsAtStartTimeout() async throws {
        let workspace = try Workspace()
        try workspace.write("a.yaml", workspace.profile(startTimeout: "1s", config: "{command: [sh, -c, 'RWTAG=\(workspace.tag) exec sleep 120']}")
            + workspace.job("orphan", "echo never"))
        let result = try await workspace.apply()
        #expect(result.status == 1)
        let record = try #require(try await workspace.records()["orphan"])
        #expect(record.lastReason == "attempt 1: start-timeout (runner did not connect within 1s)")
        #expect(workspace.leftoverTasks.isEmpty)
        #expect(workspace.liveJobProcesses.isEmpty)
    }

    /// A frozen runner (SIGSTOP) stops heartbeating: the attempt ends as heartbeat-lost, its
    /// task is killed, and the retry succeeds.
    @Test func silentRunnerIsStoppedAsHeartbeatLost() async throws {
        let workspace = try Workspace()
        let marker = workspace.root + "/started"
        try workspace.write("a.yaml", workspace.profile() + workspace.job(
            "frozen", "if [ $RUNWAY_ATTEMPT = 1 ]; then touch \(marker); sleep 60; fi; echo ok", retries: 1))
        let apply = try workspace.startApply(extra: ["--heartbeat-interval", "200ms", "--heartbeat-timeout", "2s"])
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: marker) })
        let runner = try #require(runnerPID(workspace, job: "frozen"))
        kill(runner, SIGSTOP)
        let result = await apply.wait()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let attempts = try await workspace.attempts("frozen")
        #expect(attempts.count == 2)
        #expect(attempts.first?.reason == "attempt 1: heartbeat-lost (no word from its runner)")
        #expect(try await workspace.records()["frozen"]?.state == .succeeded)
        #expect(workspace.liveJobProcesses.isEmpty)
        #expect(kill(runner, 0) != 0, "the frozen runner was killed")
    }

    /// A runner killed outright: its task is seen to exit without a report, the attempt fails
    /// with that reason, the job's orphaned child is killed with the task's process group.
    @Test func killedRunnerFailsItsAttemptAndLeavesNothing() async throws {
        let workspace = try Workspace()
        let marker = workspace.root + "/started"
        try workspace.write("a.yaml", workspace.profile() + workspace.job(
            "victim", "if [ $RUNWAY_ATTEMPT = 1 ]; then touch \(marker); sleep 60; fi; echo ok", retries: 1))
        let apply = try workspace.startApply()
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: marker) })
        kill(try #require(runnerPID(workspace, job: "victim")), SIGKILL)
        let result = await apply.wait()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let attempts = try await workspace.attempts("victim")
        #expect(attempts.first?.reason == "attempt 1: task-lost (its task exited with code 137, killed by signal 9 before its runner reported)")
        #expect(workspace.liveJobProcesses.isEmpty, "the killed runner's job was stopped with its group")
    }

    @Test func removingAJobsManifestCancelsIt() async throws {
        let workspace = try Workspace()
        let marker = workspace.root + "/started"
        try workspace.write("profile.yaml", workspace.profile() + workspace.job("stays", "echo stays"))
        try workspace.write("goes.yaml", workspace.job("goes", "touch \(marker); sleep 60"))
        let apply = try workspace.startApply()
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: marker) })
        try workspace.remove("goes.yaml")
        let result = await apply.wait()
        #expect(result.status == 1, "a cancelled job is not a success")
        let records = try await workspace.records()
        #expect(records["goes"]?.state == .cancelled)
        #expect(records["goes"]?.lastReason == "job removed from the manifests")
        #expect(records["stays"]?.state == .succeeded)
        #expect(workspace.liveJobProcesses.isEmpty)
        #expect(workspace.leftoverTasks.isEmpty)
    }

    @Test func interruptCancelsRunningJobsAndStopsTheirTasks() async throws {
        let workspace = try Workspace()
        let marker = workspace.root + "/started"
        try workspace.write("a.yaml", workspace.profile() + workspace.job("long", "touch \(marker); sleep 60"))
        let apply = try workspace.startApply()
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: marker) })
        kill(apply.pid, SIGINT)
        let result = await apply.wait()
        #expect(result.status == 1)
        #expect(result.stdout.contains("(cancelled)"))
        #expect(try await workspace.records()["long"]?.state == .cancelled)
        #expect(workspace.liveJobProcesses.isEmpty)
        #expect(workspace.leftoverTasks.isEmpty)
    }

    /// The pid of a job's runner, from the local launcher's task record.
    private func runnerPID(_ workspace: Workspace, job: String) -> Int32? {
        for name in workspace.leftoverTasks where name.hasPrefix("runway-\(job)-") {
            if let pid = workspace.localTaskRecord(name)?["pid"] as? Int { return Int32(pid) }
        }
        return nil
    }
}
