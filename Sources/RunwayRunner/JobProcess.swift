import CRunwaySystem
import Foundation
import RunwayModel
import Synchronization

/// The job's command as a child of the runner: stdout and stderr through pipes, read by two
/// threads into an ``OutputQueue``; its exit status from a waiting thread.
struct JobProcess: Sendable {
    enum Exit: Sendable {
        case exited(Int32)
        case signaled(Int32)
    }

    let pid: Int32
    let output: OutputQueue

    static func start(command: [String], environment: [String: String], workingDirectory: String?) throws -> JobProcess {
        guard let program = command.first else { throw RunnerError.spawn("empty command") }
        if let directory = workingDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RunnerError.spawn("working directory \(directory) does not exist")
            }
        }
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw RunnerError.spawn("pipe: \(String(cString: strerror(errno)))") }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        runway_spawn_file_actions_addclosefrom(&actions, 3)  // the pipes' ends and the runner's sockets
        if let directory = workingDirectory { runway_spawn_file_actions_addchdir(&actions, directory) }

        let arguments = command.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            arguments.forEach { free($0) }
            variables.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = program.contains("/")
            ? posix_spawn(&pid, program, &actions, &attributes, arguments, variables)
            : posix_spawnp(&pid, program, &actions, &attributes, arguments, variables)
        close(out[1])
        close(err[1])
        guard result == 0 else {
            close(out[0])
            close(err[0])
            throw RunnerError.spawn("\(program): \(String(cString: strerror(result)))")
        }
        let output = OutputQueue(streams: 2)
        for (fd, stream) in [(out[0], LogChunk.Stream.stdout), (err[0], .stderr)] {
            Thread { output.drain(fd: fd, stream: stream) }.start()
        }
        return JobProcess(pid: pid, output: output)
    }

    /// Waits (on a thread of its own, not the cooperative pool) for the command to end.
    func waitForExit() async -> Exit {
        let pid = self.pid
        return await withCheckedContinuation { continuation in
            Thread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let signal = status & 0x7f
                continuation.resume(returning: signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal))
            }.start()
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
