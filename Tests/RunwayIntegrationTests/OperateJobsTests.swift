import Foundation
import RunwayModel
import RunwayServer
import RunwayStore
import RunwayTestSupport
import Testing

/// Operating jobs through the real CLI and a real controller: a rerun through a live controller
/// and through a bare state dir (each once, a repeated request id nothing more), a cancel during
/// a long job (cancelled within the grace, no retry, nothing left running), a chain of
/// dependencies, and an upgrade that adopts a live task started before runs existed.
@Suite(.leavesNoProcesses) struct OperateJobsTests {
    func lines(_ path: String) -> Int {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// `runway controller` on the workspace (on `port`, or one the system picks), resyncing each second.
    func startController(_ workspace: Workspace, port: Int = 0) async throws -> (RunningCommand, port: Int) {
        try await RunningCommand.serving(port: port, directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)", "--resync", "1s"]
        }
    }

    func runs(_ workspace: Workspace, _ job: String) async throws -> [JobRecord] {
        try await workspace.store().jobRecords(job: job).sorted { $0.run < $1.run }
    }

    @Test func aRerunRunsOnceMoreThroughAControllerAndThroughABareStateDir() async throws {
        let workspace = try Workspace()
        let ledger = workspace.root + "/ledger"
        try workspace.write("jobs.yaml", workspace.profile() + workspace.job("count", "echo run >> '\(ledger)'; echo output-$RUNWAY_ATTEMPT"))
        let (controller, port) = try await startController(workspace)
        defer { kill(controller.pid, SIGKILL) }
        let server = ["--server", "http://127.0.0.1:\(port)", "--state-dir", workspace.state]
        #expect(await RunningCommand.until { (try? await runs(workspace, "count"))?.last?.state == .succeeded }, "\(controller.stderr)")

        // Without the operator's token the API refuses, and nothing runs.
        let refused = try await RunningCommand(["rerun", "count", "--server", "http://127.0.0.1:\(port)", "--state-dir", "/nonexistent"],
            directory: workspace.root, environment: ["RUNWAY_API_TOKEN": "wrong"]).wait()
        #expect(refused.status == 1 && refused.stderr.contains("refused the call"), "\(refused.stderr)")

        let rerun = try await RunningCommand(["rerun", "count", "--reason", "flaky disk", "--request-id", "ci-42"] + server, directory: workspace.root).wait()
        #expect(rerun.status == 0 && rerun.stdout.contains("rerun of 'count' requested (request ci-42)"), "\(rerun.stdout)\(rerun.stderr)")
        #expect(await RunningCommand.until {
            let runs = (try? await runs(workspace, "count")) ?? []
            return runs.count == 2 && runs[1].state == .succeeded
        }, "\(controller.stderr)")
        #expect(lines(ledger) == 2)
        let second = try #require(try await runs(workspace, "count").last)
        #expect(second.run == 2 && second.attempt == 1 && second.origin?.contains("flaky disk") == true, "\(second)")

        // The same request again: the first one's outcome, and no run more.
        let again = try await RunningCommand(["rerun", "count", "--request-id", "ci-42", "-o", "json"] + server, directory: workspace.root).wait()
        #expect(again.status == 0, "\(again.stderr)")
        let recorded = try JSONDecoder.iso8601.decode(JobRequest.self, from: Data(again.stdout.utf8))
        #expect(recorded.outcome == "run 2 queued" && recorded.reason == "flaky disk", "\(again.stdout)")
        try await Task.sleep(for: .seconds(3))
        let afterRepeat = try await runs(workspace, "count").count
        #expect(lines(ledger) == 2 && afterRepeat == 2)

        let status = try await RunningCommand(["status", "count"] + server, directory: workspace.root).wait()
        #expect(status.stdout.contains(" run 1: succeeded") && status.stdout.contains(" run 2: succeeded, 1 attempt(s)"), "\(status.stdout)")
        #expect(status.stdout.contains("rerun ci-42 by ") && status.stdout.contains("— run 2 queued"), "\(status.stdout)")
        let logs = try await RunningCommand(["logs", "count", "--run", "1"] + server, directory: workspace.root).wait()
        #expect(logs.stdout == "output-1\n", "\(logs.stdout)")

        kill(controller.pid, SIGTERM)
        _ = await controller.wait()

        // A bare state dir: recorded there, taken up by the next apply, once.
        let bare = try await RunningCommand(["rerun", "count", "--request-id", "local-1", "--state-dir", workspace.state], directory: workspace.root).wait()
        #expect(bare.status == 0 && bare.stdout.contains("the controller's next pass takes it up"), "\(bare.stdout)\(bare.stderr)")
        let repeated = try await RunningCommand(["rerun", "count", "--request-id", "local-1", "--state-dir", workspace.state], directory: workspace.root).wait()
        #expect(repeated.status == 0)
        let applied = try await workspace.apply()
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(lines(ledger) == 3)
        #expect(try await runs(workspace, "count").map(\.run) == [1, 2, 3])
        let quiet = try await workspace.apply()
        #expect(quiet.status == 0 && lines(ledger) == 3, "a taken-up request runs nothing more")
        let unknown = try await RunningCommand(["rerun", "nope", "--state-dir", workspace.state], directory: workspace.root).wait()
        #expect(unknown.status == 1 && unknown.stderr.contains("no job named 'nope'"), "\(unknown.stderr)")
        #expect(workspace.leftoverTasks.isEmpty)
    }

    @Test func aCancelEndsALongJobWithinTheGraceWithNoRetryAndNothingLeft() async throws {
        let workspace = try Workspace()
        let started = workspace.root + "/started"
        try workspace.write("jobs.yaml", workspace.profile(config: "{grace: 2s}")
            + workspace.job("long", "touch '\(started)'; sleep 3211 & wait", retries: 3)
            + workspace.job("after-long", "true", spec: "  after: [long]\n"))
        let (controller, port) = try await startController(workspace)
        defer { kill(controller.pid, SIGKILL) }
        let server = ["--server", "http://127.0.0.1:\(port)", "--state-dir", workspace.state]
        #expect(await RunningCommand.until { FileManager.default.fileExists(atPath: started) }, "\(controller.stderr)")

        // The waiting dependent ends without starting anything.
        let waiting = try await RunningCommand(["cancel", "after-long", "--reason", "not today"] + server, directory: workspace.root).wait()
        #expect(waiting.status == 0, "\(waiting.stderr)")
        #expect(await RunningCommand.until { (try? await runs(workspace, "after-long"))?.first?.state == .cancelled })
        #expect(try await workspace.attempts("after-long").isEmpty)

        let asked = ContinuousClock.now
        let cancel = try await RunningCommand(["cancel", "long", "--reason", "incident 7"] + server, directory: workspace.root).wait()
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(await RunningCommand.until(timeout: .seconds(30)) {
            let attempts = (try? await workspace.attempts("long")) ?? []
            return (try? await runs(workspace, "long"))?.first?.state == .cancelled && attempts.allSatisfy { $0.stoppedAt != nil }
                && workspace.leftoverTasks.isEmpty
        }, "\(controller.stderr)")
        let took = ContinuousClock.now - asked
        #expect(took < .seconds(20), "cancelled and stopped within the grace and a pass or two: \(took)")
        let pids = try await RunningCommand.shell("pgrep -f 'sleep 32[1]1' || true", directory: workspace.root)
        #expect(pids.stdout.isEmpty, "the job's processes are gone: \(pids.stdout)")
        try await Task.sleep(for: .seconds(3))
        let record = try #require(try await runs(workspace, "long").first)
        #expect(record.state == .cancelled && record.attempt == 1, "no retry: \(record)")
        #expect(record.lastReason?.hasPrefix("cancelled by ") == true && record.lastReason?.hasSuffix(": incident 7") == true, "\(record)")
        let events = try await workspace.store().events(job: "long")
        #expect(events.contains { $0.kind == "cancelled" && $0.message.contains("incident 7") }, "\(events.map(\.message))")
        #expect(events.contains { $0.kind == "stop-requested" && $0.message.hasSuffix(": cancelled") }, "\(events.map(\.message))")
        let explain = try await RunningCommand(["explain", "long"] + server, directory: workspace.root).wait()
        #expect(explain.stdout.hasPrefix("long: cancelled: cancelled by "), "\(explain.stdout)")
    }

    @Test func aChainRunsInOrderAndAnEditOfTheFirstRunsAllThreeAgain() async throws {
        let workspace = try Workspace()
        let ledger = workspace.root + "/ledger"
        func chain(_ version: String) -> String {
            workspace.profile()
                + workspace.job("deploy", "echo deploy >> '\(ledger)'", spec: "  after: [test]\n")
                + workspace.job("test", "echo test >> '\(ledger)'", spec: "  after: [build]\n")
                + workspace.job("build", "echo build-\(version) >> '\(ledger)'")
        }
        try workspace.write("jobs.yaml", chain("1"))
        let first = try await workspace.apply()
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        try workspace.write("jobs.yaml", chain("2"))
        let second = try await workspace.apply()
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        let text = (try? String(contentsOfFile: ledger, encoding: .utf8)) ?? ""
        #expect(text == "build-1\ntest\ndeploy\nbuild-2\ntest\ndeploy\n")
        #expect(try await runs(workspace, "deploy").map(\.run) == [1, 2])
    }

    @Test func theHistoryLimitCompactsOlderRunsButKeepsTheirRecords() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile()
            + workspace.job("count", "echo output-of-a-run", spec: "  historyLimit: 1\n"))
        _ = try await workspace.runRepeatedly("count", runs: 3) { try await workspace.apply() }
        let records = try await runs(workspace, "count")
        #expect(records.map(\.run) == [1, 2, 3] && records.allSatisfy { $0.state == .succeeded })
        #expect(records.map(\.compacted) == [true, true, false], "\(records)")
        #expect(try await workspace.attempts("count").map(\.run) == [3])
        #expect(try await workspace.store().events(job: "count").allSatisfy { $0.run == 3 })
        let logFiles = try FileManager.default.contentsOfDirectory(atPath: workspace.state + "/logs")
        #expect(logFiles == ["count.\(records[2].generation.digest).r3.1.log"], "\(logFiles)")
        let status = try await RunningCommand(["status", "count", "--state-dir", workspace.state], directory: workspace.root).wait()
        #expect(status.stdout.contains(" run 1: succeeded, 1 attempt(s), exit code 0 — exit code 0 [compacted"), "\(status.stdout)")
        let old = try await RunningCommand(["logs", "count", "--run", "1", "--state-dir", workspace.state], directory: workspace.root).wait()
        #expect(old.status == 1 && old.stderr.contains("no attempt of run 1 of job 'count'"), "\(old.stderr)")
        let again = try await workspace.apply()
        let count = try await runs(workspace, "count").count
        #expect(again.status == 0 && count == 3, "a compacted run never runs again")
    }

    @Test func anUpgradeAdoptsALiveTaskWithoutARunLabelAsRunOne() async throws {
        let workspace = try Workspace()
        let go = workspace.root + "/go"
        try workspace.write("jobs.yaml", workspace.profile() + workspace.job("old", "while [ ! -f '\(go)' ]; do sleep 0.2; done"))
        let (controller, port) = try await startController(workspace)
        #expect(await RunningCommand.until { (try? await runs(workspace, "old"))?.first?.state == .running }, "\(controller.stderr)")
        kill(controller.pid, SIGKILL)
        _ = await controller.wait()
        // As a release before runs left it: the task's record has no run label, and is one JSON
        // object (not lines).
        let tasks = workspace.state + "/tasks/local"
        for file in workspace.leftoverTasks {
            let path = tasks + "/" + file
            var object = try #require(workspace.localTaskRecord(file))
            var labels = try #require(object["labels"] as? [String: String])
            #expect(labels.removeValue(forKey: TaskLabels.run) == "1")
            object["labels"] = labels
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        }
        let (upgraded, _) = try await startController(workspace, port: port)
        defer { kill(upgraded.pid, SIGKILL) }
        try await Task.sleep(for: .seconds(3))
        #expect(try await workspace.attempts("old").count == 1, "adopted, not started again")
        try "go".write(toFile: go, atomically: true, encoding: .utf8)
        #expect(await RunningCommand.until { (try? await runs(workspace, "old"))?.first?.state == .succeeded }, "\(upgraded.stderr)")
        #expect(try await runs(workspace, "old").map(\.run) == [1])
        #expect(await RunningCommand.until { workspace.leftoverTasks.isEmpty })
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
