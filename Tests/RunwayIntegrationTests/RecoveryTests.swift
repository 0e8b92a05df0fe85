import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

@Suite(.leavesNoProcesses, .serialized) struct RecoveryTests {
    /// The controller dies (SIGKILL) while jobs run; a second `apply` on the same state and port
    /// adopts their tasks: every job runs exactly once, every task is stopped, nothing is left.
    @Test func controllerKilledMidRunThenApplyAgain() async throws {
        let workspace = try Workspace()
        let runs = workspace.root + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        var manifest = workspace.profile()
        // The jobs end when the test says so (after the kill), so the kill surely lands mid-run
        // however slowly a loaded machine runs this test.
        let go = workspace.root + "/go"
        for index in 1...4 {
            manifest += workspace.job("crash-\(index)", "echo run >> \(runs)/crash-\(index); while [ ! -e \(go) ]; do sleep 0.1; done; echo done")
        }
        manifest += workspace.job("later", "echo run >> \(runs)/later", profile: nil)
        try workspace.write("a.yaml", manifest)
        // A lease long enough to outlast a busy machine's delays between the kill and the
        // second apply, so the second one surely finds it held; a heartbeat timeout longer than
        // the lease, so the runners' silence meanwhile does not count as lost.
        let first = try workspace.startApply(extra: ["--lease-duration", "20s", "--heartbeat-timeout", "90s"])
        let port = try #require(await first.boundPort(), "\(first.stderr)")
        #expect(await RunningCommand.until {
            (1...4).allSatisfy { FileManager.default.fileExists(atPath: "\(runs)/crash-\($0)") }
        })
        #expect(!first.hasExited, "the first controller is killed mid-run, not after it finished: \(first.stderr)")
        kill(first.pid, SIGKILL)
        _ = await first.wait()

        // The dead controller's lease (20 s) is taken over at once: its holder is gone from this
        // host. On the first one's port, which its runners still call: started again while that port
        // is briefly held by another socket.
        let (started, _) = try await RunningCommand.serving(port: port, directory: workspace.root) { port in
            ["apply", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)",
             "--lease-duration", "20s", "--heartbeat-timeout", "90s"]
        }
        #expect(FileManager.default.createFile(atPath: go, contents: nil))
        let second = await started.wait()
        #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")
        #expect(!second.stderr.contains("waiting: another controller leads this state"), "\(second.stderr)")
        for job in (1...4).map({ "crash-\($0)" }) + ["later"] {
            let lines = try String(contentsOfFile: "\(runs)/\(job)", encoding: .utf8).split(separator: "\n")
            #expect(lines == ["run"], "\(job) ran \(lines.count) times")
            #expect(try await workspace.attempts(job).count == 1)
            #expect(try await workspace.records()[job]?.state == .succeeded)
        }
        #expect(workspace.leftoverTasks.isEmpty, "every task started was stopped")
        #expect(workspace.liveJobProcesses.isEmpty, "no process left behind")
    }

    /// Two controllers on one state: only the lease holder launches; the other waits, then
    /// finds every job done and starts nothing.
    @Test func twoControllersOnOneStateNeverBothLaunch() async throws {
        let workspace = try Workspace()
        let runs = workspace.root + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        var manifest = workspace.profile()
        // The jobs outlast the second controller's start-up by far, even on a loaded machine.
        for index in 1...3 { manifest += workspace.job("pair-\(index)", "echo run >> \(runs)/pair-\(index); sleep 8") }
        try workspace.write("a.yaml", manifest)
        let first = try workspace.startApply()
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: "\(runs)/pair-1") })
        let second = try workspace.startApply()
        #expect(!first.hasExited, "the second controller starts while the first runs")
        let (a, b) = (await first.wait(), await second.wait())
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\n\(b.stderr)")
        #expect(b.stderr.contains("waiting: another controller leads this state"))
        for index in 1...3 {
            let lines = try String(contentsOfFile: "\(runs)/pair-\(index)", encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1, "pair-\(index) ran \(lines.count) times")
            #expect(try await workspace.attempts("pair-\(index)").count == 1)
        }
    }

    /// 200 jobs on a profile limited to 8: the jobs' own commands count how many run at once.
    @Test func maxConcurrentIsNeverExceeded() async throws {
        let workspace = try Workspace()
        let counter = workspace.root + "/counter"
        try "0 0\n".write(toFile: counter, atomically: true, encoding: .utf8)
        // Under an exclusive lock: live+1, track the peak; run; live-1.
        let enter = "flock \(counter).lock sh -c 'read live peak < \(counter); live=$((live+1)); [ $live -gt $peak ] && peak=$live; echo $live $peak > \(counter)'"
        let leave = "flock \(counter).lock sh -c 'read live peak < \(counter); echo $((live-1)) $peak > \(counter)'"
        var manifest = workspace.profile(maxConcurrent: 8, startTimeout: "60s")
        for index in 1...200 { manifest += workspace.job("many-\(index)", "\(enter); sleep 0.2; \(leave)") }
        try workspace.write("many.yaml", manifest)
        let result = try await workspace.apply(extra: ["--parallelism", "16"])
        #expect(result.status == 0, "\(result.stdout.suffix(2000))\n\(result.stderr.suffix(2000))")
        let values = try String(contentsOfFile: counter, encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        #expect(values.count == 2)
        #expect(values.first == 0, "every job left")
        let peak = values.last ?? 0
        #expect(peak <= 8, "peak of \(peak) jobs at once")
        #expect(peak >= 2, "jobs did run side by side")
        let records = try await workspace.records()
        #expect(records.count == 200 && records.values.allSatisfy { $0.state == .succeeded })
        // A job that had to wait says why in its event trail (what `runway explain` shows).
        let events = try await workspace.store().events(job: "many-99")
        #expect(events.contains { $0.kind == "waiting" && $0.message == "waiting: profile local has 8/8 tasks running" })
        #expect(workspace.leftoverTasks.isEmpty)
    }
}
