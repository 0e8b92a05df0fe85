import Foundation
import RunwayHTTP
import RunwayTestSupport
import Synchronization
import Testing

/// The API is authenticated by default: a loopback controller makes its own token, which the
/// CLI on the same machine finds; a listener other machines reach needs one or refuses to start.
@Suite(.leavesNoProcesses) struct APITokenTests {
    func get(_ url: String, token: String?) async throws -> Int {
        try await HTTPClient().send(HTTPRequest(method: "GET", url: url, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? []))
            .status
    }

    /// Without --api-token-file, a controller on 127.0.0.1 writes a token into its state dir
    /// (0600), requires it on the read API, and keeps it across restarts; `runway status
    /// --server` with that state dir sends it, and from anywhere else is told how to get in.
    @Test func aLoopbackControllerMakesItsTokenAndTheCLIFindsIt() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile() + workspace.job("hello", "echo hello"))
        var first = ""
        for round in 0..<2 {
            let (controller, port) = try await RunningCommand.serving(directory: workspace.root) { port in
                ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)"]
            }
            defer { kill(controller.pid, SIGKILL) }
            let file = workspace.state + "/api-token"
            let token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.count == 64)
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "mode \(String(mode ?? 0, radix: 8))")
            if round == 0 { first = token } else { #expect(token == first, "a restart keeps the token") }
            let base = "http://127.0.0.1:\(port)"
            #expect(try await get(base + "/v1/jobs", token: nil) == 401)
            #expect(try await get(base + "/v1/jobs", token: token) == 200)
            #expect(try await get(base + "/healthz", token: nil) == 200)
            #expect(await RunningCommand.until { (try? await workspace.records()["hello"]?.state) == .succeeded }, "\(controller.stderr)")
            let status = try await RunningCommand(["status", "--server", base, "--state-dir", workspace.state], directory: workspace.root).wait()
            #expect(status.status == 0 && status.stdout.contains("hello"), "\(status.stdout)\(status.stderr)")
            let stranger = try await RunningCommand(["status", "--server", base, "--state-dir", workspace.root + "/elsewhere"], directory: workspace.root).wait()
            #expect(stranger.status != 0 && stranger.stderr.contains("RUNWAY_API_TOKEN"), "\(stranger.stderr)")
        }
    }

    /// A listener other machines can reach, with no token given, refuses to start and says how
    /// to fix it; it never binds. (Tests bind loopback only: the refusal comes before binding.)
    @Test func aReachableListenerWithoutATokenRefusesToStart() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile())
        let result = try await RunningCommand(
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "0.0.0.0:0"], directory: workspace.root
        ).wait(timeout: .seconds(60))
        #expect(result.status != 0)
        #expect(result.stderr.contains("--api-token-file") && result.stderr.contains("--insecure-no-api-token"), "\(result.stderr)")
        #expect(!result.stderr.contains("runner API on"), "it never listened")
        #expect(!FileManager.default.fileExists(atPath: workspace.state + "/api-token"), "no token made for a reachable listener")
    }

    /// The explicit opt-out serves the read API without a token, with a warning at start.
    @Test func theOptOutServesWithoutATokenAndWarns() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile())
        let (controller, port) = try await RunningCommand.serving(directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)", "--insecure-no-api-token"]
        }
        defer { kill(controller.pid, SIGKILL) }
        #expect(try await get("http://127.0.0.1:\(port)/v1/jobs", token: nil) == 200)
        #expect(controller.stderr.contains("serving the API without a token"), "\(controller.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.state + "/api-token"))
    }
}

/// The API's listener holds no connection forever and serves a bounded number at once.
@Suite(.leavesNoProcesses) struct ConnectionLimitTests {
    /// A socket connected to 127.0.0.1:`port` that sends nothing; closed by `close()`.
    static func idleConnection(port: Int) throws -> Int32 { try RawHTTP.connect(port: port) }

    /// Whether the server closed `fd` within `timeout` (a read returns 0).
    static func closedByServer(_ fd: Int32, within timeout: Duration) async -> Bool {
        await RunningCommand.until(timeout: timeout) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 0) > 0 else { return false }
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 0
        }
    }

    func controller(_ workspace: Workspace, _ flags: [String]) async throws -> (RunningCommand, port: Int) {
        try await RunningCommand.serving(directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)"] + flags
        }
    }

    @Test func anIdleConnectionIsClosed() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile())
        let (controller, port) = try await controller(workspace, ["--idle-timeout", "2s"])
        defer { kill(controller.pid, SIGKILL) }
        let lone = try Self.idleConnection(port: port)
        defer { close(lone) }
        #expect(await Self.closedByServer(lone, within: .seconds(60)), "an idle connection was kept")
    }

    /// 16 connections take every slot: a 17th request waits (its connection is not accepted)
    /// until one of them goes, then it is served.
    @Test func atMostTheLimitOfConnectionsAreServed() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile())
        let (controller, port) = try await controller(workspace, ["--max-connections", "16", "--idle-timeout", "10m"])
        defer { kill(controller.pid, SIGKILL) }
        let held = try (0..<16).map { _ in try Self.idleConnection(port: port) }
        let served = Mutex(false)
        let waiting = Task {
            let status = try await HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/healthz", timeout: .seconds(120))).status
            served.withLock { $0 = true }
            return status
        }
        try await Task.sleep(for: .seconds(2))
        #expect(!served.withLock { $0 }, "a 17th connection was served while 16 were open")
        for fd in held { close(fd) }
        #expect(try await waiting.value == 200, "served once a slot was free")
    }
}
