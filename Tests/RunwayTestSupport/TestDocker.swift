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
    public static func cli(_ arguments: String) async throws -> CommandResult {
        let host = try requireHost()
        return try await RunningCommand.shell("DOCKER_HOST='\(host)' docker \(arguments)", directory: "/")
    }

    /// Ids of every container (any state) carrying `label` (`key=value`).
    public static func containers(label: String) async throws -> [String] {
        try await cli("ps -aq --filter 'label=\(label)'").stdout.split(separator: "\n").map(String.init)
    }

    /// Ids of running containers carrying `label`.
    public static func running(label: String) async throws -> [String] {
        try await cli("ps -q --filter 'label=\(label)'").stdout.split(separator: "\n").map(String.init)
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "no Docker engine: RUNWAY_TEST_DOCKER_HOST is not set (scripts/test.sh starts one; CI must run these tests)"
        }
    }
}
