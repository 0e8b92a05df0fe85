import Foundation
import RunwayTestSupport
import Testing

/// `apply` with 100 live local tasks under a soft open-file limit of 64 (a stock Debian session's
/// 1,024 is the same story at 1,000 tasks: each live task holds a descriptor, as does each
/// runner connection). It raises its soft limit to the hard one (at most 65,536), so every job
/// runs; before, 79 of the 100 starts failed ("cannot record task: … Too many open files") and
/// the run failed. Its tasks, and so their jobs, inherit the raised limit.
@Suite(.leavesNoProcesses) struct OpenFileLimitTests {
    @Test func applyRaisesItsOpenFileLimitSoEveryTaskStarts() async throws {
        let workspace = try Workspace()
        let seen = workspace.root + "/limits"
        var manifest = workspace.profile() + workspace.job("limits", "grep 'Max open files' /proc/self/limits > \(seen)")
        for index in 1...100 { manifest += workspace.job("hold-\(index)", "sleep 3") }
        try workspace.write("jobs.yaml", manifest)
        let result = try await RunningCommand.shell(
            "ulimit -Sn 64 && exec '\(RunwayExecutable.url.path)' apply manifests --state-dir state --listen 127.0.0.1:0",
            directory: workspace.root, timeout: .seconds(300))
        let output = result.stdout + result.stderr
        #expect(result.status == 0, "\(output.suffix(3000))")
        #expect(output.contains("101/101 jobs succeeded"), "\(output.suffix(3000))")
        let hard = try #require(Self.openFiles(String(contentsOfFile: "/proc/self/limits", encoding: .utf8))).hard
        let job = try #require(Self.openFiles(String(contentsOfFile: seen, encoding: .utf8)))
        #expect(job.soft == min(hard, 65_536), "the job saw \(job); this process's hard limit is \(hard)")
    }

    /// The soft and hard numbers of a `/proc/PID/limits` "Max open files" line.
    static func openFiles(_ limits: String) -> (soft: Int, hard: Int)? {
        guard let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") }) else { return nil }
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        return numbers.count >= 2 ? (numbers[0], numbers[1]) : nil
    }
}
