import Foundation
import Testing

/// Every process a test starts is gone when the test ends. Under this trait each process the test
/// starts through `RunningCommand` carries `RWTEST_SCOPE=<id>` in its environment, and so does
/// everything it starts in turn (controllers pass it to their runners, runners to their jobs).
/// When the test ends, processes still carrying its id are given a while to exit; any left then
/// fail the test, named, and are killed. Put it on every suite that starts processes:
/// `@Suite(.leavesNoProcesses)`.
public struct LeavesNoProcesses: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    /// How long the test's processes get to exit on their own after it ends (a controller's
    /// runners are told to stop, a job's children may still be on their way out).
    static let grace: Duration = .seconds(60)

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }  // the suite itself: its tests are checked one by one
        let scope = "rw\(UUID().uuidString.prefix(8).lowercased())"
        try await ProcessScope.$current.withValue(scope) { try await function() }
        let left = await ProcessScope.reap(scope, grace: Self.grace)
        if !left.isEmpty {
            Issue.record("processes this test started are still running \(Self.grace) after it ended (killed now): \(left)")
        }
    }
}

extension Trait where Self == LeavesNoProcesses {
    /// Fails a test that leaves a process it started running (see `LeavesNoProcesses`).
    public static var leavesNoProcesses: Self { Self() }
}

/// The scope id of the test running now, which `RunningCommand` puts in every process's environment.
public enum ProcessScope {
    public static let variable = "RWTEST_SCOPE"
    @TaskLocal public static var current: String?

    /// Waits up to `grace` for the processes of `scope` to exit; kills those left then and
    /// returns them (pid and command line), so that nothing outlives its test.
    public static func reap(_ scope: String, grace: Duration) async -> [String] {
        let entry = "\(variable)=\(scope)"
        if await RunningCommand.until(timeout: grace, { processes(withEnvironment: entry).isEmpty }) { return [] }
        let left = processes(withEnvironment: entry)
        let described = left.map { pid in
            let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?
                .replacingOccurrences(of: "\0", with: " ") ?? "?"
            return "\(pid): \(command.prefix(120))"
        }
        for pid in left { kill(pid, SIGKILL) }
        return described
    }

    /// `environment` with the current test's scope added, if a test scope is active.
    public static func marking(_ environment: [String: String]) -> [String: String] {
        guard let current else { return environment }
        return environment.merging([variable: current]) { $1 }
    }
}
