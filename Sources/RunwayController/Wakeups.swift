import Synchronization

/// Wakes the loop early when something happened (a claim, a report).
public final class Wakeups: Sendable {
    /// The pending flag and a waiting continuation; the mutex guards both.
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state = (state.waiter == nil, nil) }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns at the next signal (true), or after `timeout` (false).
    @discardableResult
    public func wait(upTo timeout: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ready = self.state.withLock { state -> Bool in
                        if state.pending { state.pending = false; return true }
                        state.waiter?.resume()
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { self.wakeWithoutSignal() }
            }
            await group.next()
            group.cancelAll()
        }
        return !timedOut.exchange(false, ordering: .relaxed)
    }

    /// The timeout's own wake-up, told apart from a real signal.
    private let timedOut = Atomic<Bool>(false)

    private func wakeWithoutSignal() {
        timedOut.store(true, ordering: .relaxed)
        signal()
    }
}
