import Foundation
import RunwayTestSupport
import Testing

/// `runway-runner`, the lean runner the package builds: the same agent as `runway runner`, the
/// one local tasks run.
@Suite(.leavesNoProcesses) struct LeanRunnerTests {
    static let lean = Repository.root.appendingPathComponent(".build/debug/runway-runner").path

    @Test func itAnswersLikeTheWholeBinaryAndRefusesToRunOutsideATask() async throws {
        let version = try await RunningCommand.shell("'\(Self.lean)' --version", directory: Repository.root.path)
        let whole = try RunwayExecutable.run(["--version"])
        #expect(version.status == 0 && version.stdout == whole.stdout)
        let outside = try await RunningCommand.shell("env -u RUNWAY_SERVER_URL '\(Self.lean)' runner 2>&1", directory: Repository.root.path)
        #expect(outside.status == 2 && outside.stdout.contains("RUNWAY_SERVER_URL is not set"), "\(outside.stdout)")
        let unknown = try await RunningCommand.shell("'\(Self.lean)' --frobnicate 2>&1", directory: Repository.root.path)
        #expect(unknown.status == 2 && unknown.stdout.contains("unknown argument '--frobnicate'"))
        let libraries = try await RunningCommand.shell("ldd '\(Self.lean)' | grep -c -E 'libsqlite|libpq|libyaml' || true", directory: Repository.root.path)
        #expect(libraries.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "links none of the controller's stores or parsers")
    }

    @Test func localTasksRunTheLeanRunner() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile() + workspace.job("who", "xargs -0 echo < /proc/$PPID/cmdline"))
        let applied = try await workspace.apply()
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        let logs = try RunwayExecutable.run(["logs", "who", "--state-dir", workspace.state])
        #expect(logs.stdout.hasSuffix("/runway-runner runner\n"), "the job's parent is the lean runner: \(logs.stdout)")
    }
}
