import Foundation
import RunwayProcess

/// A `runway` process started in the background, for tests that must act while it runs
/// (kill it, edit its directory). Its output goes to files in `directory`. Spawned and reaped
/// with posix_spawn/waitpid directly, so a SIGKILL'ed child is always seen to end.
public final class RunningCommand: @unchecked Sendable {
    public let pid: Int32
    let stdoutPath: String
    let stderrPath: String
    /// Written once by `wait`, which only one caller runs.
    private var status: Int32?

    /// Starts `runway arguments…` with `directory` as its working directory.
    public init(_ arguments: [String], directory: String, environment: [String: String] = [:]) throws {
        stdoutPath = directory + "/stdout-\(UUID().uuidString).txt"
        stderrPath = directory + "/stderr-\(UUID().uuidString).txt"
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        var options = ProcessSpawner.Options(argv: [RunwayExecutable.url.path] + arguments, environment: ProcessScope.marking(env))
        options.workingDirectory = directory
        options.stdout = .file(stdoutPath, append: false)
        options.stderr = .file(stderrPath, append: false)
        pid = try ProcessSpawner.spawn(options)
    }

    /// Runs `command` with /bin/sh and waits for it (blocking the thread: for synchronous code).
    /// Past `timeout` the shell and everything it started are killed, and the result says so.
    public static func shell(_ command: String, directory: String, timeout: Duration = .seconds(600)) throws -> CommandResult {
        let (pid, out) = try spawnShell(command, directory: directory)
        guard let exit = blockingPoll(pid, until: ContinuousClock.now + timeout, every: 20_000) else {
            return timedOut(pid, out, command, timeout)
        }
        return collect(exit, out)
    }

    /// Polls child `pid` (blocking this thread, `every` microseconds) until it ends; nil when
    /// `deadline` passes first (the child is then still running, and not reaped).
    static func blockingPoll(_ pid: Int32, until deadline: ContinuousClock.Instant, every: useconds_t) -> ProcessExit? {
        while true {
            if let exit = ProcessSpawner.poll(pid) { return exit }
            if ContinuousClock.now >= deadline { return nil }
            usleep(every)
        }
    }

    /// Runs `command` with /bin/sh and waits for it by polling, so that tests running side by
    /// side on a small machine never lose a thread of the shared pool to it. Past `timeout` the
    /// shell and everything it started are killed, and the result says so.
    public static func shell(_ command: String, directory: String, timeout: Duration = .seconds(600)) async throws -> CommandResult {
        let (pid, out) = try spawnShell(command, directory: directory)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let exit = ProcessSpawner.poll(pid) { return collect(exit, out) }
            if ContinuousClock.now >= deadline { return timedOut(pid, out, command, timeout) }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Spawns `command` in a process group of its own, so a timeout can end all of it.
    private static func spawnShell(_ command: String, directory: String) throws -> (Int32, String) {
        let out = FileManager.default.temporaryDirectory.path + "/runway-shell-\(UUID().uuidString)"
        var options = ProcessSpawner.Options(
            argv: ["/bin/sh", "-c", command], environment: ProcessScope.marking(ProcessInfo.processInfo.environment))
        options.workingDirectory = directory
        options.newProcessGroup = true
        options.stdout = .file(out + ".out", append: false)
        options.stderr = .file(out + ".err", append: false)
        return (try ProcessSpawner.spawn(options), out)
    }

    private static func timedOut(_ pid: Int32, _ out: String, _ command: String, _ timeout: Duration) -> CommandResult {
        kill(-pid, SIGKILL)
        return collect(ProcessSpawner.wait(pid), out, killedAfter: timeout, what: command)
    }

    /// The output a child wrote to `out`.out and `out`.err (the files are removed); killed past
    /// a timeout, the result says so (status -1).
    static func collect(_ exit: ProcessExit?, _ out: String, killedAfter timeout: Duration? = nil, what: String = "") -> CommandResult {
        defer {
            try? FileManager.default.removeItem(atPath: out + ".out")
            try? FileManager.default.removeItem(atPath: out + ".err")
        }
        var result = CommandResult(
            status: exit?.code ?? -1, stdout: (try? String(contentsOfFile: out + ".out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "")
        if let timeout {
            result.status = -1
            result.stderr += "\n(killed: still running after \(timeout): \(what.prefix(200)))"
        }
        return result
    }

    /// Whether the process has exited (reaping it if so; `wait` then returns at once).
    public var hasExited: Bool {
        if status == nil, let exit = ProcessSpawner.poll(pid) { status = exit.code }
        return status != nil
    }

    /// Waits for the process to exit, up to `timeout`; kills it (SIGKILL) past that.
    @discardableResult
    public func wait(timeout: Duration = .seconds(180)) async -> CommandResult {
        let deadline = ContinuousClock.now + timeout
        while status == nil {
            if let exit = ProcessSpawner.poll(pid) {
                status = exit.code
            } else if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
            } else {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        return CommandResult(status: status!, stdout: stdout, stderr: stderr)
    }

    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
    /// A ceiling, not a tuning: generous, since a loaded machine can be many times slower than
    /// an idle one, and a condition that holds returns at once.
    public static func until(timeout: Duration = .seconds(120), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }
}

/// Live processes whose environment contains `entry` (`NAME=value`), other than the caller:
/// a job's command and every process it started inherit it.
public func processes(withEnvironment entry: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        guard data.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == entry }) else { return false }
        // A zombie has exited already; only live processes count.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
    }
}

/// A test helper that could not do its part, and why.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// Checks of how long something takes, which only mean something on a machine not busy with
/// the rest of the suite: scripts/test.sh runs them on their own afterwards, with
/// RUNWAY_TIMING_CHECKS=1 (tests assert no timing in the main run).
public enum TimingChecks {
    public static let enabled = ProcessInfo.processInfo.environment["RUNWAY_TIMING_CHECKS"] == "1"
}
