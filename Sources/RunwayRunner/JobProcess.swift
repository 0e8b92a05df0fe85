import Foundation
import RunwayModel
import RunwayProcess
import Synchronization

/// The job's command as a child of the runner: stdout and stderr through pipes, read by two
/// threads into an ``OutputQueue``; its exit status from the runner's reaper.
///
/// The job ends when its command's main process ends: ``settle(drain:grace:)`` then waits a
/// bounded time for the output pipes to close and stops every descendant still running (a
/// server started in the background, a daemon that called `setsid`), so neither an open pipe
/// nor a leftover process can hold the job.
struct JobProcess: Sendable {
    let pid: Int32
    let output: OutputQueue
    private let reaper: Reaper

    static func start(command: [String], environment: [String: String], workingDirectory: String?) throws -> JobProcess {
        guard !command.isEmpty else { throw RunnerError.spawn("empty command") }
        if let directory = workingDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RunnerError.spawn("working directory \(directory) does not exist")
            }
        }
        // The job stays in the runner's process group, so a stop of the task reaches it too.
        var options = ProcessSpawner.Options(argv: command, environment: environment)
        options.workingDirectory = workingDirectory
        let (pid, stdout, stderr): (pid_t, Int32, Int32)
        do {
            (pid, stdout, stderr) = try ProcessSpawner.spawnPiped(options)
        } catch {
            throw RunnerError.spawn("\(error)")
        }
        let output = OutputQueue(streams: 2)
        for (fd, stream) in [(stdout, LogChunk.Stream.stdout), (stderr, .stderr)] {
            Thread { output.drain(fd: fd, stream: stream) }.start()
        }
        return JobProcess(pid: pid, output: output, reaper: Reaper(main: pid))
    }

    /// Waits for the command's main process to end.
    func waitForExit() async -> ProcessExit {
        await reaper.mainExit()
    }

    /// After the main process ended: waits up to `drain` for the output pipes to close, then sends
    /// SIGTERM to every descendant still running, SIGKILL to those left after `grace`, and ends
    /// the output (a pipe held open by a process outside the runner's tree cannot hold the job).
    func settle(drain: Duration, grace: Duration) async {
        let clock = ContinuousClock()
        await output.waitForEnd(until: clock.now + drain)
        let runner = getpid()
        if ProcessTree.signalDescendants(of: runner, SIGTERM) > 0 {
            let killAt = clock.now + grace
            while clock.now < killAt && !ProcessTree.descendants(of: runner).isEmpty {
                try? await Task.sleep(for: .milliseconds(25))
            }
            // A process forking while it is being killed can leave a new child: sweep until none.
            for _ in 0..<40 where ProcessTree.signalDescendants(of: runner, SIGKILL) > 0 {
                try? await Task.sleep(for: .milliseconds(25))
            }
        }
        await output.waitForEnd(until: clock.now + .milliseconds(500))
        output.end()
    }
}

/// Reaps every child of the runner on a thread of its own: the command's main process (whose
/// status it keeps) and, since the runner is a child subreaper, every orphan re-parented to it,
/// so no zombie is left behind even when the runner is a container's PID 1.
private final class Reaper: Sendable {
    private struct State {
        var exit: ProcessExit?
        var waiters: [CheckedContinuation<ProcessExit, Never>] = []
    }

    private let state = Mutex(State())

    init(main: pid_t) {
        Thread { [self] in
            var status: Int32 = 0
            while true {
                let pid = waitpid(-1, &status, 0)
                if pid < 0 {
                    if errno == EINTR { continue }
                    break  // ECHILD: no child left, and none can appear without a child.
                }
                if pid == main { resolve(ProcessExit(waitStatus: status)) }
            }
            resolve(.exited(-1))  // Only if the main process was never seen: the runner lost it.
        }.start()
    }

    private func resolve(_ exit: ProcessExit) {
        let waiters = state.withLock { state -> [CheckedContinuation<ProcessExit, Never>] in
            guard state.exit == nil else { return [] }
            state.exit = exit
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume(returning: exit) }
    }

    func mainExit() async -> ProcessExit {
        await withCheckedContinuation { continuation in
            let exit = state.withLock { state -> ProcessExit? in
                if state.exit == nil { state.waiters.append(continuation) }
                return state.exit
            }
            if let exit { continuation.resume(returning: exit) }
        }
    }
}

/// Output read from the job, in arrival order, waiting to be shipped. Reader threads append;
/// the shipper takes everything queued at once, so a chatty job is sent in few requests. At most
/// `capacity` bytes wait: a reader finding the queue full stops reading until the shipper takes
/// it, so a job printing faster than its output is shipped is slowed by its full pipe instead of
/// running its runner out of memory.
final class OutputQueue: Sendable {
    /// Bytes queued before readers wait. Default 1 MiB: four full log chunks.
    let capacity: Int

    private struct State {
        var pieces: [(LogChunk.Stream, [UInt8])] = []
        var queued = 0
        var open: Int
        /// Set by ``end()``: what readers still find is dropped.
        var ended = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    /// Pieces and open-stream count; the mutex guards both and the waiting shipper.
    private let state: Mutex<State>

    init(streams: Int, capacity: Int = 1 << 20) {
        self.capacity = capacity
        state = Mutex(State(open: streams))
    }

    func drain(fd: Int32, stream: LogChunk.Stream) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            let bytes = Array(buffer[0..<count])
            // Full: wait (off the async pool, on this reader's own thread) for the shipper.
            while state.withLock({ !$0.ended && $0.queued >= capacity }) { usleep(2_000) }
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard !state.ended else { return nil }
                state.pieces.append((stream, bytes))
                state.queued += bytes.count
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
        close(fd)
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.open = max(state.open - 1, 0)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Ends the output now, whatever readers are still open: the shipper sends what is queued
    /// and finishes.
    func end() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.ended = true
            state.open = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits until every stream reached its end, or until `deadline`.
    func waitForEnd(until deadline: ContinuousClock.Instant) async {
        while state.withLock({ $0.open > 0 }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Everything queued, waiting for some if there is none; nil once every stream has ended.
    func take() async -> [(LogChunk.Stream, [UInt8])]? {
        while true {
            let (pieces, ended) = state.withLock { state in
                defer {
                    state.pieces = []
                    state.queued = 0
                }
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
