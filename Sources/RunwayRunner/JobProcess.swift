import Foundation
import RunwayModel
import RunwayProcess
import Synchronization

/// The job's command as a child of the runner: stdout and stderr through pipes, read by two
/// threads into an ``OutputQueue``; its exit status from a waiting thread.
struct JobProcess: Sendable {
    let pid: Int32
    let output: OutputQueue

    static func start(command: [String], environment: [String: String], workingDirectory: String?) throws -> JobProcess {
        guard !command.isEmpty else { throw RunnerError.spawn("empty command") }
        if let directory = workingDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RunnerError.spawn("working directory \(directory) does not exist")
            }
        }
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw RunnerError.spawn("pipe: \(String(cString: strerror(errno)))") }
        // The job stays in the runner's process group, so a stop of the task reaches it too.
        var options = ProcessSpawner.Options(argv: command, environment: environment)
        options.workingDirectory = workingDirectory
        options.stdout = .descriptor(out[1])
        options.stderr = .descriptor(err[1])
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(options)
        } catch {
            [out[0], out[1], err[0], err[1]].forEach { close($0) }
            throw RunnerError.spawn("\(error)")
        }
        close(out[1])
        close(err[1])
        let output = OutputQueue(streams: 2)
        for (fd, stream) in [(out[0], LogChunk.Stream.stdout), (err[0], .stderr)] {
            Thread { output.drain(fd: fd, stream: stream) }.start()
        }
        return JobProcess(pid: pid, output: output)
    }

    /// Waits (on a thread of its own, not the cooperative pool) for the command to end.
    func waitForExit() async -> ProcessExit {
        let pid = self.pid
        return await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: ProcessSpawner.wait(pid) ?? .exited(-1)) }.start()
        }
    }
}

/// Output read from the job, in arrival order, waiting to be shipped. Reader threads append;
/// the shipper takes everything queued at once, so a chatty job is sent in few requests.
final class OutputQueue: Sendable {
    private struct State {
        var pieces: [(LogChunk.Stream, [UInt8])] = []
        var open: Int
        var waiter: CheckedContinuation<Void, Never>?
    }

    /// Pieces and open-stream count; the mutex guards both and the waiting shipper.
    private let state: Mutex<State>

    init(streams: Int) {
        state = Mutex(State(open: streams))
    }

    func drain(fd: Int32, stream: LogChunk.Stream) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            let bytes = Array(buffer[0..<count])
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.pieces.append((stream, bytes))
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
        close(fd)
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.open -= 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Everything queued, waiting for some if there is none; nil once every stream has ended.
    func take() async -> [(LogChunk.Stream, [UInt8])]? {
        while true {
            let (pieces, ended) = state.withLock { state in
                defer { state.pieces = [] }
                return (state.pieces, state.open == 0)
            }
            if !pieces.isEmpty { return pieces }
            if ended { return nil }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state in
                    if !state.pieces.isEmpty || state.open == 0 { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
