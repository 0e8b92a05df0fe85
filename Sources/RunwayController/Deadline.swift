import Synchronization

/// A call that did not end within its deadline.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var operation: String
    public var limit: Duration

    public var description: String { "\(operation) did not finish within \(limit.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))" }
}

/// Runs `operation` and stops waiting for it after `limit`: it is cancelled and left to end on
/// its own, and the caller gets ``DeadlineExceeded``. A call that ignores cancellation (a hung
/// platform request) can so never hold its caller longer than the deadline.
public func withDeadline<T: Sendable>(
    _ limit: Duration, _ operation: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = OnceResult<T>()
    let work = Task { outcome.resume(with: await Result(catching: body)) }
    let timer = Task {
        try await Task.sleep(for: limit)
        if outcome.resume(with: .failure(DeadlineExceeded(operation: operation, limit: limit))) { work.cancel() }
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
        try await outcome.value()
    } onCancel: {
        work.cancel()
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// A result set once, by whichever comes first, and awaited by one caller.
private final class OnceResult<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<T, any Error>?
    }

    private let state = Mutex(State())

    /// Sets the result if none is set yet; returns whether this call set it.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        let (set, waiter) = state.withLock { state -> (Bool, CheckedContinuation<T, any Error>?) in
            if state.result != nil { return (false, nil) }
            state.result = result
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(with: result)
        return set
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<T, any Error>? in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
