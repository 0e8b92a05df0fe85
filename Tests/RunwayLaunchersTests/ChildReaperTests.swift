import Foundation
import RunwayProcess
import RunwayTestSupport
import Synchronization
import Testing

/// One thread waits for every child handed to the reaper; each child's end reaches its own
/// callback, once, and children nobody handed to it are left to whoever waits for them.
@Suite struct ChildReaperTests {
    @Test func eachChildsEndReachesItsCallbackOnce() async throws {
        let ends = Mutex<[pid_t: [ProcessExit?]]>([:])
        var expected: [pid_t: ProcessExit] = [:]
        for code in 0..<40 {
            let pid = try ProcessSpawner.spawn(.init(argv: ["/bin/sh", "-c", "sleep 0.\(code % 5); exit \(code)"]))
            expected[pid] = .exited(Int32(code))
            ChildReaper.shared.watch(pid) { exit in ends.withLock { $0[pid, default: []].append(exit) } }
        }
        // One the reaper is not told of: its parent waits for it, and gets its status.
        let other = try ProcessSpawner.spawn(.init(argv: ["/bin/sh", "-c", "exit 7"]))
        // Killed: the signal is its end.
        let killed = try ProcessSpawner.spawn(.init(argv: ["/bin/sleep", "60"]))
        expected[killed] = .signaled(SIGKILL)
        ChildReaper.shared.watch(killed) { exit in ends.withLock { $0[killed, default: []].append(exit) } }
        kill(killed, SIGKILL)
        #expect(await RunningCommand.until(timeout: .seconds(60)) { ends.withLock { $0.count } == expected.count })
        try await Task.sleep(for: .milliseconds(200))
        let seen = ends.withLock { $0 }
        for (pid, exit) in expected { #expect(seen[pid] == [exit], "child \(pid)") }
        #expect(ProcessSpawner.wait(other) == .exited(7), "a child the reaper was not told of is not taken from its waiter")
    }
}
