import Synchronization

extension PostgresStateStore {
    struct TimedOut: Error, CustomStringConvertible {
        var description: String { "no answer from PostgreSQL within \(PostgresStateStore.operationTimeout)" }
    }

    /// `body`, or ``TimedOut`` after ``operationTimeout``. The body is then cancelled but not
    /// waited for: a request queued for a connection to a server that is down may not end soon,
    /// and the caller must not hang on it.
    static func withDeadline<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = Once()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work = Task { @Sendable in
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                if once.claim() { continuation.resume(with: result) }
            }
            Task { @Sendable in
                try? await Task.sleep(for: operationTimeout)
                if once.claim() {
                    work.cancel()
                    continuation.resume(throwing: TimedOut())
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
