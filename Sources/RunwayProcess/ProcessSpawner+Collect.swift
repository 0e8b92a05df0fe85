import Foundation
import Glibc
import Synchronization

extension ProcessSpawner {
    /// What a short command printed and how it ended.
    public struct Collected: Sendable {
        /// nil when it was killed for running past its timeout.
        public var exit: ProcessExit?
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var timedOut: Bool { exit == nil }
    }

    /// Runs a short command (a credential plugin) to its end, reading its stdout and stderr side
    /// by side (so a command that fills one pipe while the other is read cannot deadlock), each
    /// kept up to `limit` bytes. Past `timeout` the command's whole process group is killed.
    /// Runs on a thread of its own, never on the cooperative pool.
    public static func collect(_ options: Options, timeout: Duration, limit: Int = 1 << 20) async throws(SpawnError) -> Collected {
        var options = options
        options.newProcessGroup = true
        let (pid, stdoutFD, stderrFD) = try spawnPiped(options)
        Running.add(pid)
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                let collected = drain(pid: pid, stdout: stdoutFD, stderr: stderrFD, timeout: timeout, limit: limit)
                Running.remove(pid)
                continuation.resume(returning: collected)
            }
            thread.name = "runway-collect"
            thread.start()
        }
    }

    /// Starts the child with its stdout and stderr on pipes; returns it and the pipes' read
    /// ends (the caller's to read and close).
    public static func spawnPiped(_ options: Options) throws(SpawnError) -> (pid: pid_t, stdout: Int32, stderr: Int32) {
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard pipe(&out) == 0 else { throw SpawnError(program: options.argv.first ?? "", code: errno) }
        guard pipe(&err) == 0 else {
            let code = errno
            [out[0], out[1]].forEach { close($0) }
            throw SpawnError(program: options.argv.first ?? "", code: code)
        }
        var options = options
        options.stdout = .descriptor(out[1])
        options.stderr = .descriptor(err[1])
        let pid: pid_t
        do {
            pid = try spawn(options)
        } catch {
            [out[0], out[1], err[0], err[1]].forEach { close($0) }
            throw error
        }
        close(out[1])
        close(err[1])
        return (pid, out[0], err[0])
    }

    private static func drain(pid: pid_t, stdout: Int32, stderr: Int32, timeout: Duration, limit: Int) -> Collected {
        let deadline = ContinuousClock.now + timeout
        var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0), pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
        var captured: [[UInt8]] = [[], []]
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var timedOut = false
        while fds.contains(where: { $0.fd >= 0 }) {
            let left = deadline - ContinuousClock.now
            if left <= .zero {
                timedOut = true
                break
            }
            let ready = Glibc.poll(&fds, nfds_t(fds.count), Int32(min(left / .milliseconds(1), 1000).rounded(.up)))
            if ready < 0 && errno != EINTR { break }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if count <= 0 {
                    close(fds[index].fd)
                    fds[index].fd = -1
                } else if captured[index].count < limit {
                    captured[index] += buffer[0..<min(count, limit - captured[index].count)]
                }
            }
        }
        if timedOut { kill(-pid, SIGKILL) }
        for fd in fds where fd.fd >= 0 { close(fd.fd) }
        let exit = wait(pid)
        return Collected(exit: timedOut ? nil : exit, stdout: captured[0], stderr: captured[1])
    }
}

/// The process groups of commands being collected, killed when this process exits normally
/// (a controller shutting down while a credential plugin runs leaves no plugin behind).
private enum Running {
    static let groups = Mutex<Set<pid_t>>([])
    static let registered: Void = { atexit { Running.killAll() } }()

    static func add(_ pid: pid_t) {
        _ = registered
        _ = groups.withLock { $0.insert(pid) }
    }

    static func remove(_ pid: pid_t) {
        _ = groups.withLock { $0.remove(pid) }
    }

    static func killAll() {
        for pid in groups.withLock({ $0 }) { kill(-pid, SIGKILL) }
    }
}
