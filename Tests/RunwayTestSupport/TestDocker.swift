import Foundation
import RunwayProcess

/// The Docker engine the test command started (`RUNWAY_TEST_DOCKER_HOST`, see scripts/test.sh),
/// and the docker CLI pointed at it.
public enum TestDocker {
    /// The engine's endpoint, or nil when the tests run without one.
    public static let host: String? = ProcessInfo.processInfo.environment["RUNWAY_TEST_DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 }

    /// Docker tests run when an engine is there, and always in CI (where a missing engine fails them).
    public static let shouldRun = host != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// The runner image scripts/build-runner-image made.
    public static let image = "runway-runner:dev"

    /// The engine's endpoint; fails the test (with the reason) when there is none.
    public static func requireHost() throws -> String {
        guard let host else { throw Missing() }
        return host
    }

    /// `docker ARGS…` against the test engine.
    @discardableResult
    public static func cli(_ arguments: String) throws -> CommandResult {
        let host = try requireHost()
        return try RunningCommand.shell("DOCKER_HOST='\(host)' docker \(arguments)", directory: "/")
    }

    /// Ids of every container (any state) carrying `label` (`key=value`).
    public static func containers(label: String) throws -> [String] {
        try cli("ps -aq --filter 'label=\(label)'").stdout.split(separator: "\n").map(String.init)
    }

    /// Ids of running containers carrying `label`.
    public static func running(label: String) throws -> [String] {
        try cli("ps -q --filter 'label=\(label)'").stdout.split(separator: "\n").map(String.init)
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "no Docker engine: RUNWAY_TEST_DOCKER_HOST is not set (scripts/test.sh starts one; CI must run these tests)"
        }
    }
}

extension TestDocker {
    /// Tests/Servers/fault_proxy.py in front of the test engine's socket: the same engine
    /// at `host`, with faults injected on request. `close()` stops it by its pid.
    public final class FaultProxy: Sendable {
        public let socket: String
        let pid: pid_t
        public var host: String { "unix://" + socket }

        public init() async throws {
            let engine = try TestDocker.requireHost()
            guard engine.hasPrefix("unix://") else { throw Missing() }
            socket = "/tmp/rwdp-\(UInt32.random(in: 0...UInt32.max)).sock"
            var options = ProcessSpawner.Options(argv: [
                "python3", Repository.path("Tests/Servers/fault_proxy.py"), "--listen", socket, "--upstream",
                String(engine.dropFirst("unix://".count)),
            ])
            options.stdout = .file(socket + ".log", append: false)
            pid = try ProcessSpawner.spawn(options)
            let (ready, pid) = (socket + ".ready", pid)
            guard await RunningCommand.until(timeout: .seconds(30), { FileManager.default.fileExists(atPath: ready) }) else {
                kill(pid, SIGKILL)
                _ = ProcessSpawner.wait(pid)
                throw TestFailure(description: "the Docker fault proxy did not start: \((try? String(contentsOfFile: socket + ".log", encoding: .utf8)) ?? "")")
            }
        }

        /// Adds a fault (see the proxy's documentation): `{"kind":"stall","path":"/images/create","stall":60}`.
        public func fault(_ json: String) async throws {
            try await control("POST", "/_test/faults", body: json)
        }

        /// How many faults of each kind were injected.
        public func injected() async throws -> [String: Int] {
            let text = try await control("GET", "/_test/injected", body: nil)
            return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Int]) ?? [:]
        }

        @discardableResult
        private func control(_ method: String, _ path: String, body: String?) async throws -> String {
            let result = try await RunningCommand.shell(
                "curl -sS --unix-socket '\(socket)' -X \(method) http://proxy\(path)" + (body.map { " -d '\($0)'" } ?? ""), directory: "/")
            guard result.status == 0 else { throw TestFailure(description: "\(method) \(path): \(result.stderr)") }
            return result.stdout
        }

        public func close() {
            kill(pid, SIGTERM)
            _ = ProcessSpawner.wait(pid)
            for suffix in [".ready", ".log"] { try? FileManager.default.removeItem(atPath: socket + suffix) }
        }
    }
}
