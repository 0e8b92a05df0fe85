import Foundation
import RunwayTestSupport
import Testing

/// The check behind `.leavesNoProcesses`: a process a test started, and one that process
/// started and left behind, are found, named and killed; a test that ended its own finds none.
@Suite struct ProcessScopeTests {
    @Test func aProcessLeftBehindIsFoundAndKilled() async throws {
        let scope = "rwcheck\(UInt32.random(in: 0...UInt32.max))"
        let scratch = TemporaryDirectory()
        try await ProcessScope.$current.withValue(scope) {
            // The shell exits at once; its background child is orphaned, as a job's child is.
            let result = try await RunningCommand.shell("sleep 300 >/dev/null 2>&1 & echo started", directory: scratch.path)
            #expect(result.stdout == "started\n")
        }
        let left = await ProcessScope.reap(scope, grace: .seconds(1))
        #expect(left.count == 1 && left.first?.contains("sleep 300") == true, "\(left)")
        #expect(await RunningCommand.until { processes(withEnvironment: "\(ProcessScope.variable)=\(scope)").isEmpty })
        #expect(await ProcessScope.reap(scope, grace: .seconds(1)).isEmpty)
    }

    /// The tests' own helpers cannot hang a run: a shell past its timeout is killed with what it
    /// started, and its result says so.
    @Test func aShellPastItsTimeoutIsKilledWithWhatItStarted() async throws {
        let marker = "rwtimeout\(UInt32.random(in: 0...UInt32.max))"
        let scratch = TemporaryDirectory()
        let result = try await RunningCommand.shell(
            "export \(marker)=1; sleep 300 & echo started; sleep 300", directory: scratch.path, timeout: .seconds(1))
        #expect(result.status == -1 && result.stdout == "started\n")
        #expect(result.stderr.contains("killed: still running after 1.0 seconds"), "\(result.stderr)")
        #expect(await RunningCommand.until { processes(withEnvironment: "\(marker)=1").isEmpty }, "both sleeps are gone")
    }
}
