import Foundation

/// The moto server the test command started (`RUNWAY_TEST_MOTO_URL`, see scripts/test.sh):
/// AWS's ECS API on loopback.
public enum TestMoto {
    public static let url: String? = ProcessInfo.processInfo.environment["RUNWAY_TEST_MOTO_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// Tests against moto run when it is there, and always in CI (where its absence fails them).
    public static let shouldRun = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    public static func requireURL() throws -> String {
        guard let url else { throw Missing() }
        return url
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String { "no moto server: RUNWAY_TEST_MOTO_URL is not set (scripts/test.sh starts one; CI must run these tests)" }
    }
}
