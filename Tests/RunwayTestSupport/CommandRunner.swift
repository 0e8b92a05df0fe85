import Foundation

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
    /// it on a thread of its own (see ``onAThreadOfItsOwn(_:)``).
    public static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await onAThreadOfItsOwn { try blockingRun(arguments, environment: environment) }
    }

    private static func blockingRun(_ arguments: [String], environment: [String: String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = Repository.root
        // The caller's RUNWAY_* settings must not leak into what a test checks.
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RUNWAY_") }
        env["COLUMNS"] = "100"
        env.merge(environment) { $1 }
        process.environment = ProcessScope.marking(env)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a full pipe cannot block the child.
        let errData = LockedData()
        let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.isSet { usleep(1000) }
        return CommandResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.value, as: UTF8.self))
    }
}

/// A Data slot written by one thread and read by another; the lock guards both fields.
private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var done = false

    func set(_ value: Data) { lock.withLock { data = value; done = true } }
    var isSet: Bool { lock.withLock { done } }
    var value: Data { lock.withLock { data } }
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
