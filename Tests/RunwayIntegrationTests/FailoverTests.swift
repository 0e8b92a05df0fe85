import Foundation
import RunwayHTTP
import RunwayModel
import RunwayProcess
import RunwayStore
import RunwayTestSupport
import Testing

/// Two `runway controller` processes on one PostgreSQL store, each with its own state
/// directory, sharing the host's local tasks (`--local-tasks-dir`) and giving their tasks both
/// runner API URLs, as replicas behind a service would.
/// One test at a time: each runs two controllers and many processes on a small machine.
@Suite(.leavesNoProcesses, .serialized, .enabled(if: TestPostgres.shouldRun, "no test PostgreSQL (RUNWAY_TEST_POSTGRES_URL unset); scripts/test.sh starts one"))
struct FailoverTests {
    /// One replica: its port, state directory and process (replaced when it is restarted).
    final class Replica: @unchecked Sendable {
        let name: String
        /// Known before either replica starts: each names both in --server-url.
        let port = fixedPort()
        var process: RunningCommand?
        /// stderr of every process this replica ran, for failure messages.
        var logs: [String] = []

        init(name: String) { self.name = name }

        var url: String { "http://127.0.0.1:\(port)" }

        /// `/readyz`: its status and text (0 when it does not answer).
        func readyz() async -> (status: Int, text: String) {
            guard let response = try? await HTTPClient().send(HTTPRequest(method: "GET", url: url + "/readyz", timeout: .seconds(2)))
            else { return (0, "") }
            return (response.status, response.text)
        }

        func isLeader() async -> Bool { await readyz().text.hasPrefix("leader") }

        func metrics() async -> String {
            (try? await HTTPClient().send(HTTPRequest(method: "GET", url: url + "/metrics", timeout: .seconds(2))))?.text ?? ""
        }

        var stderr: String { (logs + [process?.stderr ?? ""]).joined(separator: "\n---\n") }
    }

    struct Pair {
        let workspace: Workspace
        let store: String
        let leaseDuration: String
        /// Extra flags for every replica.
        let extra: [String]
        let replicas: [Replica]
        var tasks: String { workspace.root + "/local-tasks" }

        init(workspace: Workspace, store: String, leaseDuration: String, extra: [String] = []) {
            self.extra = extra
            self.workspace = workspace
            self.store = store
            self.leaseDuration = leaseDuration
            replicas = [Replica(name: "a"), Replica(name: "b")]
            _ = FileManager.default.createFile(atPath: tokenFile, contents: Data((Self.apiToken + "\n").utf8))
        }

        /// The operator token the replicas share, as an HA installation does.
        static let apiToken = "failover-t0ken"
        var tokenFile: String { workspace.root + "/api-token" }

        func start(_ replica: Replica) async throws {
            if let old = replica.process { replica.logs.append(old.stderr) }
            replica.process = try await RunningCommand.serving(port: replica.port, directory: workspace.root) { port in
                ["controller", workspace.manifests, "--state-dir", workspace.root + "/state-" + replica.name,
                 "--local-tasks-dir", tasks, "--store", store, "--listen", "127.0.0.1:\(port)",
                 "--server-url", replicas.map(\.url).joined(separator: ","), "--lease-duration", leaseDuration, "--resync", "1s",
                 "--api-token-file", tokenFile] + extra
            }.0
        }

        /// The replica that leads now, if one does.
        func leader() async -> Replica? {
            for replica in replicas where await replica.isLeader() { return replica }
            return nil
        }

        func stopAll() async {
            for replica in replicas {
                guard let process = replica.process else { continue }
                kill(process.pid, SIGCONT)
                kill(process.pid, SIGTERM)
                _ = await process.wait(timeout: .seconds(60))
            }
        }

        var leftoverTasks: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).filter { $0.hasSuffix(".json") }
        }

        var stderr: String { replicas.map { "[\($0.name)]\n\($0.stderr)" }.joined(separator: "\n") }

        /// What the replicas logged about `job`, and every warning and error, for failure messages.
        func logged(about job: String) -> String {
            stderr.split(separator: "\n").filter { line in
                line.contains(job + "-") || line.contains(job + " ") || line.contains(" warning ") || line.contains(" error ")
            }.joined(separator: "\n")
        }
    }

    /// 200 jobs; the leader is SIGKILLed at three random points of the run and restarted as a
    /// standby. Every job succeeds once: its command ran once, its runner claimed once, nothing
    /// is left running, and each failover (SIGKILL to the next leader serving) is measured.
    @Test func theLeaderKilledThreeTimesLosesNothingAndRunsNothingTwice() async throws {
        let workspace = try Workspace()
        let url = try await TestPostgres.freshDatabase()
        let runs = workspace.root + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        let count = 200
        var manifest = workspace.profile(maxConcurrent: 16, startTimeout: "60s")
        for index in 1...count {
            manifest += workspace.job(
                "job-\(index)", "echo \"$RUNWAY_ATTEMPT\" >> \(runs)/job-\(index); echo begin \(index); sleep 1; echo end \(index)", retries: 2)
        }
        try workspace.write("jobs.yaml", manifest)
        let pair = Pair(workspace: workspace, store: url, leaseDuration: "3s")
        try await pair.start(pair.replicas[0])
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await pair.replicas[0].isLeader() }, "\(pair.stderr)")
        try await pair.start(pair.replicas[1])

        let store = try await PostgresStateStore(location: .init(url: url))
        func succeeded() async -> Int { ((try? await store.jobRecords()) ?? []).filter { $0.state == .succeeded }.count }
        // Three random moments, one in each third of the run.
        let moments = [(15, 60), (75, 125), (140, 185)].map { Int.random(in: $0.0...$0.1) }
        var failovers: [Double] = []
        for moment in moments {
            #expect(await RunningCommand.until(timeout: .seconds(240)) { await succeeded() >= moment }, "\(pair.stderr)")
            let leader = try #require(await pair.leader(), "no leader at \(moment) jobs: \(pair.stderr)")
            let killedAt = ContinuousClock.now
            kill(leader.process!.pid, SIGKILL)
            _ = await leader.process!.wait(timeout: .seconds(60))
            try await pair.start(leader)  // back as a standby, as a restarted pod would be
            var next: Replica?
            #expect(await RunningCommand.until(timeout: .seconds(180)) {
                next = await pair.leader()
                return next != nil
            }, "no leader after the kill: \(pair.stderr)")
            failovers.append((ContinuousClock.now - killedAt).timeInterval)
            print("failover \(failovers.count): leader \(leader.name) killed at \(moment) jobs done; \(next?.name ?? "?") leads after \(String(format: "%.2f", failovers.last!)) s")
        }
        #expect(await RunningCommand.until(timeout: .seconds(300)) { await succeeded() == count }, "\(pair.stderr)")

        var retried: [String] = []
        for index in 1...count {
            let job = "job-\(index)"
            let lines = (try? String(contentsOfFile: "\(runs)/\(job)", encoding: .utf8))?.split(separator: "\n") ?? []
            let attempts = try await store.attempts(job: job)
            let claims = attempts.filter { $0.claimedAt != nil }
            // What the store and the replicas say of a job that ran twice, so the next
            // occurrence names its cause.
            var story = ""
            if lines.count != 1 || claims.count != 1 {
                let events = (try? await store.events(job: job))?.map { "\($0.at) \($0.kind): \($0.message)" } ?? []
                story = "\nits attempts: \(attempts.map { "\($0.number) \($0.reason ?? "ok")" })\nits events:\n"
                    + events.joined(separator: "\n") + "\nthe replicas logged:\n" + pair.logged(about: job)
            }
            #expect(lines.count == 1, "\(job) ran \(lines.count) times\(story)")
            // One claim per job, even when the leader died after recording a claim and before
            // answering it: the runner asks the next leader with its claim id and gets its job.
            #expect(claims.count == 1, "\(job): \(claims.count) runner claims")
            if attempts.count > 1 { retried.append("\(job): \(attempts.map { "\($0.number) \($0.reason ?? "ok")" })") }
        }
        let records = try await store.jobRecords()
        #expect(records.count == count && records.allSatisfy { $0.state == .succeeded })
        // Output shipped to whichever controller led is all in the shared store, in order.
        let reader = try #require(await pair.leader())
        for index in 1...count {
            let response = try await HTTPClient().send(HTTPRequest(
                method: "GET", url: reader.url + "/v1/jobs/job-\(index)/logs", headers: [("Authorization", "Bearer \(Pair.apiToken)")]))
            if response.text != "begin \(index)\nend \(index)\n" {
                let events = (try? await store.events(job: "job-\(index)"))?.map { "\($0.kind): \($0.message)" } ?? []
                Issue.record("""
                    job-\(index): \(response.status) \(response.text)
                    its events:
                    \(events.joined(separator: "\n"))
                    the replicas logged:
                    \(pair.logged(about: "job-\(index)"))
                    """)
            }
        }
        // The reading commands read the shared store directly too.
        let logs = try await RunningCommand(["logs", "job-7", "--store", url], directory: workspace.root).wait()
        #expect(logs.status == 0 && logs.stdout == "begin 7\nend 7\n", "\(logs.stdout)\(logs.stderr)")
        let status = try await RunningCommand(["status", "--store", url, "--output", "json"], directory: workspace.root).wait()
        let listed = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]]
        #expect(listed?.count == count && listed?.allSatisfy { $0["state"] as? String == "succeeded" } == true, "\(status.stderr)")
        #expect(await RunningCommand.until(timeout: .seconds(120)) { pair.leftoverTasks.isEmpty }, "tasks left: \(pair.leftoverTasks)")
        #expect(await RunningCommand.until(timeout: .seconds(120)) { workspace.liveJobProcesses.isEmpty })
        print("failover seconds: \(failovers.map { String(format: "%.2f", $0) }.joined(separator: ", ")); attempts beyond the first: \(retried)")
        await pair.stopAll()
    }

    /// The leader is frozen (SIGSTOP) in the middle of a start: its write waits on a lock the
    /// test holds. The standby takes the lease; the frozen one is resumed and its start reaches
    /// the store, which refuses it by the fencing token. The refusal is logged and counted, the
    /// old leader stands by, and the job runs once, started by the new leader.
    @Test func aFrozenLeaderWakesUpAndItsStartIsRefusedByTheFence() async throws {
        let workspace = try Workspace()
        let url = try await TestPostgres.freshDatabase()
        let runs = workspace.root + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        let profile = workspace.profile(startTimeout: "30s")
        try workspace.write("profile.yaml", profile)
        // Store operations may wait 30 s (default 5 s), so the start held on the lock outlasts
        // the freeze and the takeover however slow the machine.
        let pair = Pair(workspace: workspace, store: url, leaseDuration: "2s", extra: ["--store-timeout", "30s"])
        let (a, b) = (pair.replicas[0], pair.replicas[1])
        try await pair.start(a)
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await a.isLeader() }, "\(pair.stderr)")
        try await pair.start(b)
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await b.readyz().text.hasPrefix("standby") }, "\(pair.stderr)")

        // The job's generation, from `runway plan` on the same manifests: the store locks a
        // job's writes by hashtext(job, 0x1F, generation).
        let job = workspace.job("frozen", "echo ran >> \(runs)/frozen")
        let planned = workspace.root + "/planned"
        try FileManager.default.createDirectory(atPath: planned, withIntermediateDirectories: true)
        try (profile + job).write(toFile: planned + "/jobs.yaml", atomically: true, encoding: .utf8)
        let plan = try await RunningCommand(
            ["plan", planned, "--state-dir", workspace.root + "/plan-state", "--output", "json"], directory: workspace.root
        ).wait()
        let actions = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])["actions"] as? [[String: Any]]
        let generation = try #require(actions?.first { $0["job"] as? String == "frozen" }?["generation"] as? String, "\(plan.stdout)")

        // Hold the job's lock in a session of the test's own.
        let lockKey = "hashtext('frozen' || chr(31) || '\(generation)')"
        var options = ProcessSpawner.Options(argv: [
            "psql", "-X", "-q", url, "-c", "SELECT pg_advisory_lock(\(lockKey))", "-c", "SELECT pg_sleep(600) /* runway-test-lock */",
        ])
        options.stdout = .file(workspace.root + "/psql.out", append: false)
        options.stderr = .file(workspace.root + "/psql.err", append: false)
        let psql = try ProcessSpawner.spawn(options)
        defer {
            kill(psql, SIGKILL)
            _ = ProcessSpawner.wait(psql)
        }
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            (try? await TestPostgres.psql(url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%runway-test-lock%' AND wait_event = 'PgSleep'"))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        }, "the test's lock session did not start: \((try? String(contentsOfFile: workspace.root + "/psql.err", encoding: .utf8)) ?? "")")

        // The leader starts the job and waits for the lock: freeze it there.
        try workspace.write("job.yaml", job)
        // In this test's own database: other tests on the shared server wait on locks of theirs.
        let waiting = "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            + "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            (try? await TestPostgres.psql(url, waiting))?.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        }, "the leader's start never reached the store: \(pair.stderr)")
        kill(a.process!.pid, SIGSTOP)
        let leaseBefore = try #require(try await PostgresStateStore(location: .init(url: url)).lease("controller"))

        // The standby takes over once the frozen leader's lease lapses.
        let store = try await PostgresStateStore(location: .init(url: url))
        #expect(await RunningCommand.until(timeout: .seconds(120), {
            guard let lease = try? await store.lease("controller") else { return false }
            return lease.token > leaseBefore.token
        }), "the standby never took the lease: \(pair.stderr)")
        // Wake the old leader, then let its start through: the store refuses it.
        kill(a.process!.pid, SIGCONT)
        try await TestPostgres.psql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%runway-test-lock%' AND pid <> pg_backend_pid()")

        var metrics = ""
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            metrics = await a.metrics()
            // The start, and any other write the woken leader tried before it noticed.
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("runway_fenced_writes_total ") }
            return (line.flatMap { Double($0.split(separator: " ").last!) } ?? 0) >= 1
        }, "no fenced write counted: \(metrics)\n\(pair.stderr)")
        #expect(a.process!.stderr.contains("fenced: the store refused a write of this controller"), "\(a.stderr)")
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await a.readyz().text.hasPrefix("standby") })
        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            (try? await store.jobRecords(job: "frozen"))?.first?.state == .succeeded
        }, "\(pair.stderr)")
        let attempts = try await store.attempts(job: "frozen")
        #expect(attempts.count == 1, "\(attempts)")
        let lines = (try? String(contentsOfFile: "\(runs)/frozen", encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(lines == 1, "frozen ran \(lines) times")
        #expect(await RunningCommand.until(timeout: .seconds(120)) { pair.leftoverTasks.isEmpty }, "tasks left: \(pair.leftoverTasks)")
        await pair.stopAll()
    }
}
