import Foundation
import RunwayModel
import Synchronization

/// Each platform's listing call, kept across passes: a pass starts the listings that are not
/// already running, all at once, and waits a short patience for those it started. A platform
/// whose listing is slow (a credential plugin that hangs, an API server that does not answer) is
/// left out of the pass, its jobs waiting, while its listing goes on; later passes do not wait
/// for it at all and take its answer once it is there. So a slow platform never delays another
/// platform's starts, stops, timeouts or heartbeat checks by more than one patience.
final class Listings: Sendable {
    /// One listing call and, once it ended, its answer.
    private final class Call: Sendable {
        private struct State {
            var answer: Result<[ObservedTask], any Error>?
            /// A pass went on without this answer: it wakes the controller when it comes.
            var leftBehind = false
            /// A pass waiting for the answer (at most one: passes run one at a time).
            var waiter: CheckedContinuation<Void, Never>?
        }

        private let state = Mutex(State())

        init(_ list: @escaping @Sendable () async throws -> [ObservedTask], answered: @escaping @Sendable () -> Void) {
            Task { [self] in
                let outcome = await Result(catching: list)
                let (wake, waiter) = state.withLock { state in
                    state.answer = outcome
                    defer { state.waiter = nil }
                    return (state.leftBehind, state.waiter)
                }
                waiter?.resume()
                if wake { answered() }
            }
        }

        var answer: Result<[ObservedTask], any Error>? { state.withLock { $0.answer } }

        /// Returns when the answer is there or `patience` has passed, whichever comes first.
        func wait(patience: Duration) async {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.answered() }
                group.addTask { try? await Task.sleep(for: patience) }
                await group.next()
                group.cancelAll()
            }
        }

        /// Returns once the answer is there, or when the waiting task is cancelled.
        private func answered() async {
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state in
                        guard state.answer == nil, !Task.isCancelled else { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                state.withLock { state in
                    defer { state.waiter = nil }
                    return state.waiter
                }?.resume()
            }
        }

        /// The answer, or nil after marking the call as left behind by this pass.
        func answerOrLeaveBehind() -> Result<[ObservedTask], any Error>? {
            state.withLock { state in
                if state.answer == nil { state.leftBehind = true }
                return state.answer
            }
        }
    }

    private let running = Mutex<[String: Call]>([:])

    /// The listing of each plugin that answered (within `patience`, for listings this pass
    /// starts), and why the others did not. `answered` runs when a listing ends (a listing left
    /// behind wakes the controller for a pass that takes it).
    func collect(
        _ plugins: [String], patience: Duration, answered: @escaping @Sendable () -> Void,
        list: @escaping @Sendable (String) async throws -> [ObservedTask]
    ) async -> [String: Result<[ObservedTask], any Error>] {
        let (calls, fresh) = running.withLock { running -> ([String: Call], Set<String>) in
            var fresh = Set<String>()
            for plugin in plugins where running[plugin] == nil {
                running[plugin] = Call({ try await list(plugin) }, answered: answered)
                fresh.insert(plugin)
            }
            return (running.filter { plugins.contains($0.key) }, fresh)
        }
        let deadline = ContinuousClock.now + patience
        var results: [String: Result<[ObservedTask], any Error>] = [:]
        for (plugin, call) in calls.sorted(by: { $0.key < $1.key }) {
            // Only a listing this pass started is waited for, and only until the patience ends.
            let left = deadline - ContinuousClock.now
            if fresh.contains(plugin), call.answer == nil, left > .zero { await call.wait(patience: left) }
            if let result = call.answerOrLeaveBehind() {
                results[plugin] = result
                running.withLock { _ = $0.removeValue(forKey: plugin) }
            } else {
                results[plugin] = .failure(StillListing(plugin: plugin))
            }
        }
        return results
    }

    /// A listing that has not answered yet; it goes on, and a later pass takes its answer.
    struct StillListing: Error, CustomStringConvertible {
        var plugin: String
        var description: String { "its listing has not answered yet; a later pass takes its answer" }
    }
}
