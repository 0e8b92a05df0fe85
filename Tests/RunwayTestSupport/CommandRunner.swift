import Foundation
import RunwayProcess

/// Runs the built `runway` executable as a user would, capturing its output.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum RunwayExecutable {
    /// The `runway` binary built beside the test bundle (`swift build` puts both in one folder).
    public static let url: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("runway")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return Repository.root.appendingPathComponent(".build/debug/runway")
    }()

    /// Runs `runway arguments…` in the repository root with a fixed terminal width, waiting for
    /// it on a thread of its own (see ``onAThreadOfItsOwn(_:)``). Past `timeout` it is killed
    /// and the result says so (a hung command fails its test instead of hanging the run).
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(600)
    ) async throws -> CommandResult {
        try await onAThreadOfItsOwn { try blockingRun(arguments, environment: environment, timeout: timeout) }
    }

    private static func blockingRun(_ arguments: [String], environment: [String: String], timeout: Duration) throws -> CommandResult {
        // The caller's RUNWAY_* settings must not leak into what a test checks.
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RUNWAY_") }
        env["COLUMNS"] = "100"
        env.merge(environment) { $1 }
        // Output goes to files, not pipes: a pipe's reader would also wait for anything the
        // command left running that still holds the pipe.
        let out = FileManager.default.temporaryDirectory.path + "/runway-run-\(UUID().uuidString)"
        var options = ProcessSpawner.Options(argv: [url.path] + arguments, environment: ProcessScope.marking(env))
        options.workingDirectory = Repository.root.path
        options.stdout = .file(out + ".out", append: false)
        options.stderr = .file(out + ".err", append: false)
        let pid = try ProcessSpawner.spawn(options)
        guard let exit = RunningCommand.blockingPoll(pid, until: ContinuousClock.now + timeout, every: 2_000) else {
            kill(pid, SIGKILL)
            return RunningCommand.collect(ProcessSpawner.wait(pid), out, killedAfter: timeout, what: "runway " + arguments.joined(separator: " "))
        }
        return RunningCommand.collect(exit, out)
    }
}

/// Runs `body` on a new thread and waits for it without holding a thread of the shared pool.
/// Tests run side by side in one process on that pool, as wide as the machine has cores (two
/// here): a test that blocks a pool thread on a child process, a pipe or a semaphore takes it
/// from every other test, and with two such tests the in-process servers of the others left
/// requests unanswered for 30 s.
public func onAThreadOfItsOwn<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
