import Foundation
import RunwayRunner
import RunwayTestSupport
import Testing

/// `runway-runner`, the lean runner the package builds: the same agent as `runway runner`, the
/// one local tasks run.
@Suite(.leavesNoProcesses) struct LeanRunnerTests {
    static let lean = Repository.root.appendingPathComponent(".build/debug/runway-runner").path

    @Test func itAnswersLikeTheWholeBinaryAndRefusesToRunOutsideATask() async throws {
        let version = try await RunningCommand.shell("'\(Self.lean)' --version", directory: Repository.root.path)
        let whole = try await RunwayExecutable.run(["--version"])
        #expect(version.status == 0 && version.stdout == whole.stdout)
        let outside = try await RunningCommand.shell("env -u RUNWAY_SERVER_URL '\(Self.lean)' runner 2>&1", directory: Repository.root.path)
        #expect(outside.status == 2 && outside.stdout.contains("RUNWAY_SERVER_URL is not set"), "\(outside.stdout)")
        let unknown = try await RunningCommand.shell("'\(Self.lean)' --frobnicate 2>&1", directory: Repository.root.path)
        #expect(unknown.status == 2 && unknown.stdout.contains("unknown argument '--frobnicate'"))
        let libraries = try await RunningCommand.shell(
            "ldd '\(Self.lean)' | grep -c -E 'libsqlite|libpq|libyaml|libcurl|libgnutls|libkrb5' || true", directory: Repository.root.path)
        #expect(libraries.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0",
            "links none of the controller's stores or parsers, nor libcurl's tree (its HTTP client is RunwayWire)")
    }

    @Test func localTasksRunTheLeanRunner() async throws {
        let workspace = try Workspace()
        try workspace.write("jobs.yaml", workspace.profile() + workspace.job("who", "xargs -0 echo < /proc/$PPID/cmdline"))
        let applied = try await workspace.apply()
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        let logs = try await RunwayExecutable.run(["logs", "who", "--state-dir", workspace.state])
        #expect(logs.stdout.hasSuffix("/runway-runner runner\n"), "the job's parent is the lean runner: \(logs.stdout)")
    }

    /// `--install DIR` copies the bundle the runner image holds into DIR (ECS's bundle container):
    /// the bundle's files, and again over an earlier copy.
    @Test func theBundleIsInstalledIntoADirectory() async throws {
        let scratch = TemporaryDirectory()
        let bundle = scratch.path + "/bundle"
        let made = try await RunningCommand.shell("scripts/runner-bundle '\(Self.lean)' '\(bundle)'", directory: Repository.root.path)
        #expect(made.status == 0, "\(made.stdout)")
        for _ in 1...2 { try RunnerAgent.installBundle(into: scratch.path + "/volume", from: bundle) }
        let run = try await RunningCommand.shell(
            "'\(scratch.path)/volume/lib/ld.so' --library-path '\(scratch.path)/volume/lib' '\(scratch.path)/volume/bin/runway-runner' --version",
            directory: Repository.root.path)
        let version = try await RunwayExecutable.run(["--version"]).stdout
        #expect(run.status == 0 && run.stdout == version, "\(run.stdout)")
        // Started from a bundle, the runner installs that bundle (as in an init container or a
        // prestart task whose image keeps the bundle elsewhere than /runway).
        let again = try await RunningCommand.shell(
            "'\(scratch.path)/volume/lib/ld.so' --library-path '\(scratch.path)/volume/lib' '\(scratch.path)/volume/bin/runway-runner' --install '\(scratch.path)/copy'",
            directory: Repository.root.path)
        #expect(again.status == 0 && FileManager.default.isExecutableFile(atPath: scratch.path + "/copy/bin/runway-runner"), "\(again.stdout)")
        let missing = try await RunningCommand.shell("'\(Self.lean)' --install '\(scratch.path)/elsewhere' 2>&1", directory: Repository.root.path)
        #expect(missing.status == 1 && missing.stdout.contains("cannot install the runner bundle"), "no /runway on this machine: \(missing.stdout)")
    }
}
