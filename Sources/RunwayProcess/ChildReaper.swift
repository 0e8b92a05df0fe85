import CRunwaySystem
import Foundation
import Synchronization

/// Waits for this process's children on one thread: each child's pidfd sits in one epoll set,
/// and when it says the child ended, its status is taken (`waitpid` on that pid only, so children
/// others wait for are left alone) and handed to the child's callback, on that thread. A
/// controller with 1,000 local tasks keeps one thread for them, not 1,000. Where the kernel has
/// no pidfd (before Linux 5.3), a thread per child waits instead.
public final class ChildReaper: Sendable {
    public static let shared = ChildReaper()

    private let epoll: Int32
    /// By pidfd: the child and what to call with its end.
    private let waiting = Mutex<[Int32: (pid: pid_t, done: @Sendable (ProcessExit?) -> Void)]>([:])

    private init() {
        epoll = runway_epoll_create()
        guard epoll >= 0 else { return }
        let thread = Thread { [self] in run() }
        thread.name = "runway-reaper"
        thread.start()
    }

    /// Calls `done` with how child `pid` ended (nil when it cannot be waited for), once.
    public func watch(_ pid: pid_t, _ done: @escaping @Sendable (ProcessExit?) -> Void) {
        let descriptor = epoll >= 0 ? runway_pidfd_open(pid) : -1
        guard descriptor >= 0 else { return waitOnAThread(pid, done) }
        waiting.withLock { $0[descriptor] = (pid, done) }
        guard runway_epoll_add(epoll, descriptor) == 0 else {
            _ = waiting.withLock { $0.removeValue(forKey: descriptor) }
            close(descriptor)
            return waitOnAThread(pid, done)
        }
    }

    private func waitOnAThread(_ pid: pid_t, _ done: @escaping @Sendable (ProcessExit?) -> Void) {
        let thread = Thread { done(ProcessSpawner.wait(pid)) }
        thread.name = "runway-reaper-\(pid)"
        thread.start()
    }

    private func run() {
        var ready = [Int32](repeating: -1, count: 64)
        while true {
            let count = runway_epoll_wait(epoll, &ready, Int32(ready.count))
            guard count >= 0 else {
                if errno == EINTR { continue }
                return
            }
            for descriptor in ready.prefix(Int(count)) {
                guard let child = waiting.withLock({ $0.removeValue(forKey: descriptor) }) else { continue }
                runway_epoll_remove(epoll, descriptor)
                close(descriptor)
                // Readable: the child ended, so this returns at once.
                child.done(ProcessSpawner.wait(child.pid))
            }
        }
    }
}
