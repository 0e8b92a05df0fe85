import Foundation
import RunwayHTTP
import RunwayModel
import RunwayTestSupport
import Testing

/// schemathesis (PyPI, in the tests' environment) against a live controller with its own
/// OpenAPI document (`GET /openapi.json`): every answer matches the document, none is a 5xx,
/// and requests without a token change nothing in the store.
@Suite(.leavesNoProcesses) struct SchemathesisTests {
    /// What a request could change about a job: its records and attempts (not the heartbeat
    /// times its own runner keeps moving) and its events.
    static func snapshot(_ workspace: Workspace, job: String) async throws -> String {
        let store = try workspace.store()
        let records = try await store.jobRecords(job: job).map { "\($0.state.rawValue) \($0.attempt) \($0.exitCode.map(String.init) ?? "-")" }
        let attempts = try await store.attempts(job: job).map {
            "\($0.id) \($0.state.rawValue) \($0.claimID ?? "-") \($0.tokenHash) \($0.nextLogSeq) \($0.logBytes) \($0.completedAt.map { "\($0)" } ?? "-")"
        }
        let events = try await store.events(job: job).map { "\($0.kind): \($0.message)" }
        return (records + attempts + events).joined(separator: "\n")
    }

    @Test func theAPIHoldsToItsOpenAPIDocument() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile() + workspace.job("sleeper", "echo started; while [ ! -f '\(workspace.root)/go' ]; do sleep 0.2; done"))
        let (controller, port) = try await RunningCommand.serving(directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)"]
        }
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until { (try? await workspace.records()["sleeper"]?.state) == .running }, "\(controller.stderr)")
        #expect(await RunningCommand.until { (try? await workspace.attempts("sleeper").first?.nextLogSeq) == 1 }, "its line is in")
        let base = "http://127.0.0.1:\(port)"
        let token = try String(contentsOfFile: workspace.state + "/api-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // A range past the end of a log is a valid request the server answers 416 (RFC 9110);
        // an operator's rerun or cancel of a job that exists is 202, of a used request id 409;
        // the job's name is the one that exists, so the log paths are reached.
        let config = try workspace.scratch.write("schemathesis.toml", """
            [parameters]
            "path.name" = "sleeper"

            [checks.positive_data_acceptance]
            expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 416, 429]

            # A body past a path's limit is refused before it is read (413), whatever it holds.
            [checks.negative_data_rejection]
            expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
            """)
        func schemathesis(_ arguments: String) async throws -> CommandResult {
            try await RunningCommand.shell(
                "timeout 600 st --config-file '\(config)' run '\(base)/openapi.json' --checks all --max-examples 100 --no-color \(arguments) 2>&1",
                directory: workspace.root)
        }
        let started = ContinuousClock.now
        let before = try await Self.snapshot(workspace, job: "sleeper")
        let anonymous = try await schemathesis("")
        #expect(anonymous.status == 0, "\(anonymous.stdout.suffix(3000))")
        #expect(anonymous.stdout.contains(" passed"), "\(anonymous.stdout.suffix(500))")
        #expect(try await Self.snapshot(workspace, job: "sleeper") == before, "requests without a token changed the store")
        // With the token: first everything but the writes (so the job runs on), then, once it
        // ended, the reruns and cancels.
        let writes = "'/v1/jobs/[^/]+/(rerun|cancel)$'"
        let authenticated = try await schemathesis("-H 'Authorization: Bearer \(token)' --exclude-path-regex \(writes)")
        #expect(authenticated.status == 0, "\(authenticated.stdout.suffix(3000))")
        let ready = try await HTTPClient().send(HTTPRequest(method: "GET", url: base + "/readyz"))
        #expect(ready.status == 200, "still ready")
        #expect(try await workspace.records()["sleeper"]?.state == .running, "its job still runs")
        try "go".write(toFile: workspace.root + "/go", atomically: true, encoding: .utf8)
        #expect(await RunningCommand.until { (try? await workspace.records()["sleeper"]?.state) == .succeeded }, "\(controller.stderr)")
        let requests = try await schemathesis("-H 'Authorization: Bearer \(token)' --include-path-regex \(writes)")
        #expect(requests.status == 0, "\(requests.stdout.suffix(3000))")
        print("schemathesis (\(ContinuousClock.now - started)): "
            + (anonymous.stdout + authenticated.stdout + requests.stdout).split(separator: "\n").filter { $0.contains("generated") }.joined(separator: "; "))
        #expect(try await workspace.store().requests(job: "sleeper").count > 0, "its requests were recorded")
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            guard let records = try? await workspace.store().jobRecords(job: "sleeper"), let open = try? await workspace.store().openRequests()
            else { return false }
            return records.allSatisfy(\.state.isTerminal) && open.isEmpty
        }, "every rerun ran and ended or was cancelled: \(controller.stderr.suffix(2000))")
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }
}
