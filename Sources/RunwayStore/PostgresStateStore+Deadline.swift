import RunwayModel
import Synchronization

extension PostgresStateStore {
    struct TimedOut: Error, CustomStringConvertible {
        var timeout: Duration
        var description: String { "no answer from PostgreSQL within \(timeout.manifestDescription)" }
    }

    /// `body`, or ``TimedOut`` after `timeout`. The body is then cancelled but not waited for:
    /// a request queued for a connection to a server that is down may not end soon, and the
    /// caller must not hang on it.
    static func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = Once()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work = Task { @Sendable in
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                if once.claim() { continuation.resume(with: result) }
            }
            Task { @Sendable in
                try? await Task.sleep(for: timeout)
                if once.claim() {
                    work.cancel()
                    continuation.resume(throwing: TimedOut(timeout: timeout))
                }
            }
        }
    }

    /// True for the first caller only.
    final class Once: Sendable {
        private let done = Mutex(false)
        func claim() -> Bool { done.withLock { done in defer { done = true }; return !done } }
    }
}
