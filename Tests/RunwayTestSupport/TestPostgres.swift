import Foundation

/// The tests' PostgreSQL (scripts/postgres-server, started by scripts/test.sh on a free loopback
/// port): `RUNWAY_TEST_POSTGRES_URL`. Each test gets a database of its own.
public enum TestPostgres {
    public static let url: String? = ProcessInfo.processInfo.environment["RUNWAY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// Tests against it run when it is there, and always in CI (where its absence fails them).
    public static let shouldRun = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    public typealias Failure = TestFailure

    /// A new, empty database on the test server; its URL.
    public static func freshDatabase() async throws -> String {
        guard let url else { throw Failure(description: "no test PostgreSQL: RUNWAY_TEST_POSTGRES_URL is not set (scripts/test.sh starts one)") }
        let name = "t\(UInt32.random(in: 0...UInt32.max))"
        try await psql(url, "CREATE DATABASE \(name)")
        return url.replacingOccurrences(of: #"/[^/?]*(\?|$)"#, with: "/\(name)$1", options: .regularExpression)
    }

    /// Runs SQL with psql against `url`; its output.
    @discardableResult
    public static func psql(_ url: String, _ sql: String) async throws -> String {
        let result = try await RunningCommand.shell("psql -X -q -t -A -v ON_ERROR_STOP=1 '\(url)' <<'RUNWAY_SQL'\n\(sql)\nRUNWAY_SQL", directory: "/")
        guard result.status == 0 else { throw Failure(description: "psql failed (\(result.status)): \(result.stderr)") }
        return result.stdout
    }
}
