import Foundation
import RunwayProcess

/// Tests/Servers/fault_proxy.py in front of a server: the Docker engine's unix socket, or a TCP
/// server (moto's ECS). The same server at `host`/`url`, with faults injected on request.
/// `close()` stops it by its pid.
public final class FaultProxy: Sendable {
    let pid: pid_t
    let control: String
    let ready: String
    /// `unix:///…` when in front of a unix socket.
    public let host: String
    /// `http://127.0.0.1:PORT` when in front of a TCP server.
    public let url: String

    /// In front of the test Docker engine's socket.
    public convenience init() async throws {
        let engine = try TestDocker.requireHost()
        guard engine.hasPrefix("unix://") else { throw TestFailure(description: "the test Docker engine is not on a unix socket: \(engine)") }
        let socket = "/tmp/rwdp-\(UInt32.random(in: 0...UInt32.max)).sock"
        try await self.init(
            arguments: ["--listen", socket, "--upstream", String(engine.dropFirst("unix://".count))], ready: socket + ".ready",
            control: ["--unix-socket", socket, "http://proxy"])
    }

    /// In front of the HTTP server at `upstream` (`http://127.0.0.1:PORT`).
    public convenience init(tcp upstream: String) async throws {
        guard let address = URL(string: upstream), let host = address.host, let port = address.port else {
            throw TestFailure(description: "not an http://HOST:PORT URL: \(upstream)")
        }
        let ready = "/tmp/rwdp-\(UInt32.random(in: 0...UInt32.max)).url"
        try await self.init(arguments: ["--listen-tcp", ready, "--upstream-tcp", "\(host):\(port)"], ready: ready, control: nil)
    }

    private init(arguments: [String], ready: String, control: [String]?) async throws {
        var options = ProcessSpawner.Options(argv: ["python3", Repository.path("Tests/Servers/fault_proxy.py")] + arguments)
        options.stdout = .file(ready + ".log", append: false)
        let pid = try ProcessSpawner.spawn(options)
        guard await RunningCommand.until(timeout: .seconds(30), { FileManager.default.fileExists(atPath: ready) }) else {
            kill(pid, SIGKILL)
            _ = ProcessSpawner.wait(pid)
            throw TestFailure(description: "the fault proxy did not start: \((try? String(contentsOfFile: ready + ".log", encoding: .utf8)) ?? "")")
        }
        let announced = (try? String(contentsOfFile: ready, encoding: .utf8)) ?? ""
        self.pid = pid
        self.ready = ready
        if let control {
            host = "unix://" + control[1]
            url = ""
            self.control = control.map { "'\($0)'" }.joined(separator: " ")
        } else {
            host = ""
            url = announced
            self.control = "'\(announced)'"
        }
    }

    /// Adds a fault (see the proxy's documentation): `{"kind":"stall","path":"/images/create","stall":60}`.
    public func fault(_ json: String) async throws {
        try await request("POST", "/_test/faults", body: json)
    }

    /// How many faults of each kind were injected.
    public func injected() async throws -> [String: Int] {
        let text = try await request("GET", "/_test/injected", body: nil)
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Int]) ?? [:]
    }

    @discardableResult
    private func request(_ method: String, _ path: String, body: String?) async throws -> String {
        let result = try await RunningCommand.shell(
            "curl -sS -X \(method) \(control)\(path)" + (body.map { " -d '\($0)'" } ?? ""), directory: "/")
        guard result.status == 0 else { throw TestFailure(description: "\(method) \(path): \(result.stderr)") }
        return result.stdout
    }

    public func close() {
        kill(pid, SIGTERM)
        _ = ProcessSpawner.wait(pid)
        for file in [ready, ready + ".log"] { try? FileManager.default.removeItem(atPath: file) }
    }
}
