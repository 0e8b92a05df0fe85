import Foundation
import Logging
import RunwayController
import RunwayHTTP
import RunwayModel
import RunwayStore
import RunwayTestSupport
import Testing

/// `runway controller --store postgres://…` on a PostgreSQL of the test's own (it is stopped and
/// started again, which the shared test server must not be).
@Suite(.leavesNoProcesses, .enabled(if: TestPostgres.shouldRun, "no test PostgreSQL (RUNWAY_TEST_POSTGRES_URL unset); scripts/test.sh starts one"))
struct PostgresStoreTests {
    /// A PostgreSQL server of the test's own (scripts/postgres-server), stopped and removed by
    /// `close`. Not under a workspace: the server runs as the `postgres` user, which may not
    /// enter it.
    struct PrivateServer {
        let directory = "/tmp/runway-pgtest-\(UInt32.random(in: 0...UInt32.max))"
        let url: String

        /// `tls`: TCP connections must use TLS with this certificate and key, and this password.
        init(tls: (certificate: String, key: String, password: String)? = nil) async throws {
            let environment = tls.map { "POSTGRES_TLS_CERT='\($0.certificate)' POSTGRES_TLS_KEY='\($0.key)' POSTGRES_PASSWORD='\($0.password)' " } ?? ""
            let started = try await RunningCommand.shell(
                environment + "scripts/postgres-server start '\(directory)'", directory: Repository.path(""))
            try #require(started.status == 0, "\(started.stderr)")
            url = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func stop() async throws {
            let stopped = try await RunningCommand.shell("scripts/postgres-server stop '\(directory)'", directory: Repository.path(""))
            try #require(stopped.status == 0, "\(stopped.stderr)")
        }

        /// Starts it again on the same port and data.
        func restart() async throws {
            let again = try await RunningCommand.shell("scripts/postgres-server start '\(directory)'", directory: Repository.path(""))
            try #require(again.status == 0 && again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == url, "\(again.stderr)")
        }

        func close() {
            _ = try? RunningCommand.shell("scripts/postgres-server stop '\(directory)'", directory: Repository.path(""))
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// A server that takes only TLS connections with a password: `verify-full` against its CA
    /// with the password from a file works; another CA, no TLS, or a wrong password each fail
    /// with the reason, and the password is never printed.
    @Test func aTLSStoreIsVerifiedAndItsPasswordComesFromAFile() async throws {
        let workspace = try Workspace()
        try FileManager.default.createDirectory(atPath: workspace.root + "/certs", withIntermediateDirectories: true)
        let certificates = try await TestCertificates(in: workspace.root + "/certs")
        let password = "pw-\(UInt32.random(in: 0...UInt32.max))"
        let server = try await PrivateServer(tls: (certificates.certificateFile, certificates.keyFile, password))
        defer { server.close() }
        try workspace.write("jobs.yaml", workspace.profile() + workspace.job("secure", "echo stored"))
        try password.write(toFile: workspace.root + "/password", atomically: true, encoding: .utf8)
        func apply(_ query: String, _ extra: [String] = ["--store-password-file", workspace.root + "/password"], environment: [String: String] = [:])
            async throws -> CommandResult
        {
            try await workspace.apply(extra: ["--store", server.url + "?" + query, "--store-timeout", "10s"] + extra, environment: environment)
        }

        let verified = try await apply("sslmode=verify-full&sslrootcert=\(certificates.caFile)")
        #expect(verified.status == 0, "\(verified.stderr)")
        let store = try await PostgresStateStore(location: .init(url: server.url + "?sslmode=require", password: password))
        #expect(try await store.jobRecords(job: "secure").first?.state == .succeeded)

        let otherCA = try await apply("sslmode=verify-full&sslrootcert=\(certificates.otherCAFile)")
        #expect(otherCA.status != 0 && otherCA.stderr.contains("certificate is not trusted (is sslrootcert the CA"), "\(otherCA.stderr)")
        let plain = try await apply("sslmode=disable")
        #expect(plain.status != 0 && plain.stderr.contains("no encryption"), "\(plain.stderr)")
        let wrong = try await apply("sslmode=require", [], environment: ["RUNWAY_STORE_PASSWORD": "not-it"])
        #expect(wrong.status != 0 && wrong.stderr.contains("password authentication failed"), "\(wrong.stderr)")
        let fromEnvironment = try await apply("sslmode=require", [], environment: ["RUNWAY_STORE_PASSWORD": password])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        for result in [verified, otherCA, plain, wrong, fromEnvironment] {
            #expect(!(result.stdout + result.stderr).contains(password), "the password is never printed")
        }
    }

    /// A runner reports while PostgreSQL is down: the controller keeps the report (the runner
    /// hears 503) and records it once the store answers, with the time it arrived, even though
    /// the runner is gone by then; the job succeeds on its one attempt. (The job prints nothing:
    /// output is shipped before the report, and the runner retries a chunk for two minutes.)
    @Test func aReportReceivedWhileTheStoreIsDownIsKeptAndRecorded() async throws {
        let workspace = try Workspace()
        let server = try await PrivateServer()
        defer { server.close() }
        // The job ends when the test says so: after the store is down.
        let go = workspace.root + "/go"
        try workspace.write("jobs.yaml", workspace.profile(startTimeout: "60s") + workspace.job("reported", "while [ ! -e \(go) ]; do sleep 0.1; done"))
        let (controller, _) = try await RunningCommand.serving(directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)", "--store", server.url,
             "--lease-duration", "6s", "--resync", "1s"]
        }
        defer { kill(controller.pid, SIGKILL) }
        let store = try await PostgresStateStore(location: .init(url: server.url))
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            (try? await store.attempts(job: "reported"))?.first?.state == .running
        }, "\(controller.stderr)")
        let runner = try #require(workspace.leftoverTasks.first.flatMap { workspace.localTaskRecord($0)?["pid"] as? Int32 })

        try await server.stop()
        #expect(FileManager.default.createFile(atPath: go, contents: nil))
        #expect(await RunningCommand.until(timeout: .seconds(120)) { controller.stderr.contains("report kept until the state store answers") },
            "\(controller.stderr)")
        let keptBy = Date()
        kill(runner, SIGKILL)  // the runner gives up; only the controller has the report now
        try await Task.sleep(for: .seconds(2))
        try await server.restart()

        #expect(await RunningCommand.until(timeout: .seconds(180)) {
            (try? await store.jobRecords(job: "reported"))?.first?.state == .succeeded
        }, "\(controller.stderr)")
        let attempts = try await store.attempts(job: "reported")
        #expect(attempts.count == 1 && attempts[0].exitCode == 0, "\(attempts)")
        #expect((attempts.first?.completedAt ?? .distantFuture) <= keptBy, "recorded with the time it arrived")
        #expect(controller.stderr.contains("kept report recorded"), "\(controller.stderr)")
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }

    /// PostgreSQL stopped while jobs run: the controller says it is not ready (and why), starts
    /// nothing, and once the server is back it recovers; every job ends once, none is lost.
    /// `apply` whose store goes away mid-run fails, and still stops every task it started (the
    /// stop goes to the platform even though the store cannot record it): no runner, no job
    /// process, no task record is left, and it exits 1 naming the store.
    @Test func applyWhoseStoreGoesAwayStopsWhatItStarted() async throws {
        let workspace = try Workspace()
        let server = try await PrivateServer()
        defer { server.close() }
        let marker = workspace.root + "/running"
        try workspace.write("jobs.yaml", workspace.profile() + workspace.job("long", "touch \(marker); sleep 120"))
        let apply = try workspace.startApply(extra: ["--store", server.url, "--store-timeout", "2s", "--stop-timeout", "20s", "--failure-timeout", "3s"])
        #expect(await RunningCommand.until(timeout: .seconds(120)) { FileManager.default.fileExists(atPath: marker) }, "\(apply.stderr)")
        try await server.stop()
        let result = await apply.wait(timeout: .seconds(120))
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("runway apply: the run failed:"), "\(result.stderr)")
        #expect(!result.stderr.contains("could not stop task"), "\(result.stderr)")
        #expect(workspace.liveJobProcesses.isEmpty, "the job's processes were stopped")
        #expect(workspace.leftoverTasks.isEmpty, "the task record is gone: \(workspace.leftoverTasks)")
    }

    /// Two replicas on one PostgreSQL, the lease 4 s, one replica's wall clock 10 s ahead.
    /// PostgreSQL's clock judges the lease, so renewing side by side for three lease durations,
    /// the replica ahead never takes the lease from the leader, and leading, never thinks its
    /// own lease lapsed: one holder, token 1, all along, in either order.
    @Test(arguments: [false, true]) func aReplicaWhoseClockRunsAheadNeitherStealsNorLosesTheLease(aheadLeads: Bool) async throws {
        let store = try await PostgresStateStore(location: .init(url: try await TestPostgres.freshDatabase()))
        var configuration = LeaderLease.Configuration()
        configuration.duration = .seconds(4)
        let logger = Logger(label: "test.lease")
        let normal = LeaderLease(configuration: configuration, controllerID: "normal", store: store, logger: logger)
        let ahead = LeaderLease(
            configuration: configuration, controllerID: "ahead", store: store, logger: logger, clock: { Date().addingTimeInterval(10) })
        let (leader, other) = aheadLeads ? (ahead, normal) : (normal, ahead)
        var renewedFrom = ContinuousClock.now
        #expect(await leader.refresh())
        // The longest span from the start of one renewal to the end of the next: only a span
        // longer than the lease (a machine too loaded to renew in time) lets the lease lapse
        // for real, and then the leader takes it again under a new token.
        var longestSpan = Duration.zero
        // A lease counts as held only with a fifth of its duration left, so a renewal that
        // itself took the other four fifths (a machine stalled mid-call) comes back already
        // too close to its end: only then may the leader not see itself leading.
        let usable = configuration.duration * 4 / 5
        for _ in 0..<12 {  // renewals every third of the lease, for three lease durations
            try await Task.sleep(for: configuration.duration / 3)
            let started = ContinuousClock.now
            let leads = await leader.refresh()
            let (seesItselfLeading, renewal) = (leader.isLeader, ContinuousClock.now - started)
            let follows = await other.refresh()
            let seesItselfFollowing = !other.isLeader
            longestSpan = max(longestSpan, ContinuousClock.now - renewedFrom)
            renewedFrom = started
            #expect(leads, "the leader keeps its lease")
            #expect(seesItselfLeading || renewal >= usable, "the leader, just renewed (in \(renewal)), knows it leads")
            #expect(!follows && seesItselfFollowing, "the other replica never takes it")
        }
        let lease = try #require(try await store.lease(configuration.name))
        #expect(lease.holder == leader.holder)
        #expect(lease.token == 1 || longestSpan >= configuration.duration, "token \(lease.token), renewals at most \(longestSpan) apart")
    }

    @Test func aRestartedPostgreSQLMakesTheControllerNotReadyThenItRecoversAndLosesNothing() async throws {
        let workspace = try Workspace()
        let server = try await PrivateServer()
        defer { server.close() }
        let url = server.url
        let runs = workspace.root + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        var manifest = workspace.profile(maxConcurrent: 4, startTimeout: "60s")
        for index in 1...24 { manifest += workspace.job("load-\(index)", "echo run >> \(runs)/load-\(index); sleep 1") }
        try workspace.write("jobs.yaml", manifest)
        let (controller, port) = try await RunningCommand.serving(directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)", "--store", url,
             "--lease-duration", "6s", "--resync", "1s"]
        }
        defer { kill(controller.pid, SIGKILL) }
        func readyz() async -> (Int, String) {
            guard let response = try? await HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/readyz")) else { return (0, "") }
            return (response.status, response.text)
        }
        let store = try await PostgresStateStore(location: .init(url: url))
        func succeeded() async -> Int { ((try? await store.jobRecords()) ?? []).filter { $0.state == .succeeded }.count }
        #expect(await RunningCommand.until(timeout: .seconds(180)) { await succeeded() >= 4 }, "\(controller.stderr)")

        try await server.stop()
        var notReady = (0, "")
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            notReady = await readyz()
            return notReady.0 == 503
        }, "\(controller.stderr)")
        #expect(notReady.1.hasPrefix("store unreachable:"), "\(notReady.1)")
        try await Task.sleep(for: .seconds(2))
        try await server.restart()

        #expect(await RunningCommand.until(timeout: .seconds(180)) { await readyz().0 == 200 }, "\(controller.stderr)")
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await succeeded() == 24 }, "\(controller.stderr)")
        for index in 1...24 {
            let lines = (try? String(contentsOfFile: "\(runs)/load-\(index)", encoding: .utf8))?.split(separator: "\n").count ?? 0
            #expect(lines == 1, "load-\(index) ran \(lines) times")
            #expect(try await store.attempts(job: "load-\(index)").count == 1)
        }
        #expect(await RunningCommand.until { workspace.leftoverTasks.isEmpty }, "every task was stopped: \(workspace.leftoverTasks)")
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }
}
