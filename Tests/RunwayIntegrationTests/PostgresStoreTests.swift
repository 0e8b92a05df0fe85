import Foundation
import RunwayHTTP
import RunwayModel
import RunwayStore
import RunwayTestSupport
import Testing

/// `runway controller --store postgres://…` on a PostgreSQL of the test's own (it is stopped and
/// started again, which the shared test server must not be).
@Suite(.enabled(if: TestPostgres.shouldRun, "no test PostgreSQL (RUNWAY_TEST_POSTGRES_URL unset); scripts/test.sh starts one"))
struct PostgresStoreTests {
    /// PostgreSQL stopped while jobs run: the controller says it is not ready (and why), starts
    /// nothing, and once the server is back it recovers; every job ends once, none is lost.
    @Test func aRestartedPostgreSQLMakesTheControllerNotReadyThenItRecoversAndLosesNothing() async throws {
        let workspace = try Workspace()
        // Not under the workspace: the server runs as the `postgres` user, which may not enter it.
        let server = "/tmp/runway-pgtest-\(UInt32.random(in: 0...UInt32.max))"
        let started = try RunningCommand.shell("scripts/postgres-server start '\(server)'", directory: Repository.path(""))
        try #require(started.status == 0, "\(started.stderr)")
        defer {
            _ = try? RunningCommand.shell("scripts/postgres-server stop '\(server)'", directory: Repository.path(""))
            try? FileManager.default.removeItem(atPath: server)
        }
        let url = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let runs = workspace.root + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        var manifest = workspace.profile(maxConcurrent: 4, startTimeout: "60s")
        for index in 1...24 { manifest += workspace.job("load-\(index)", "echo run >> \(runs)/load-\(index); sleep 1") }
        try workspace.write("jobs.yaml", manifest)
        let port = freePort()
        let controller = try RunningCommand(
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)", "--store", url,
             "--lease-duration", "6s", "--resync", "1s"],
            directory: workspace.root)
        defer { kill(controller.pid, SIGKILL) }
        func readyz() async -> (Int, String) {
            guard let response = try? await HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/readyz")) else { return (0, "") }
            return (response.status, response.text)
        }
        let store = try await PostgresStateStore(location: .init(url: url))
        func succeeded() async -> Int { ((try? await store.jobRecords()) ?? []).filter { $0.state == .succeeded }.count }
        #expect(await RunningCommand.until(timeout: .seconds(60)) { await succeeded() >= 4 }, "\(controller.stderr)")

        let stopped = try RunningCommand.shell("scripts/postgres-server stop '\(server)'", directory: Repository.path(""))
        try #require(stopped.status == 0, "\(stopped.stderr)")
        var notReady = (0, "")
        #expect(await RunningCommand.until(timeout: .seconds(30)) {
            notReady = await readyz()
            return notReady.0 == 503
        }, "\(controller.stderr)")
        #expect(notReady.1.hasPrefix("store unreachable:"), "\(notReady.1)")
        try await Task.sleep(for: .seconds(2))
        let again = try RunningCommand.shell("scripts/postgres-server start '\(server)'", directory: Repository.path(""))
        try #require(again.status == 0 && again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == url, "\(again.stderr)")

        #expect(await RunningCommand.until(timeout: .seconds(60)) { await readyz().0 == 200 }, "\(controller.stderr)")
        #expect(await RunningCommand.until(timeout: .seconds(120)) { await succeeded() == 24 }, "\(controller.stderr)")
        for index in 1...24 {
            let lines = (try? String(contentsOfFile: "\(runs)/load-\(index)", encoding: .utf8))?.split(separator: "\n").count ?? 0
            #expect(lines == 1, "load-\(index) ran \(lines) times")
            #expect(try await store.attempts(job: "load-\(index)").count == 1)
        }
        #expect(await RunningCommand.until { workspace.leftoverTasks.isEmpty }, "every task was stopped: \(workspace.leftoverTasks)")
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(20))
    }
}
