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
        }

        private let state = Mutex(State())

        init(_ list: @escaping @Sendable () async throws -> [ObservedTask], answered: @escaping @Sendable () -> Void) {
            Task { [self] in
                let outcome = await Result(catching: list)
                let wake = state.withLock { state in
                    state.answer = outcome
                    return state.leftBehind
                }
                if wake { answered() }
            }
        }

        var answer: Result<[ObservedTask], any Error>? { state.withLock { $0.answer } }

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
            // Looked at soon first (a local listing answers within a millisecond or two), then
            // every 10 ms.
            var pause = Duration.microseconds(250)
            while fresh.contains(plugin), call.answer == nil, ContinuousClock.now < deadline {
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(10))
            }
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
