import PostgresNIO
import RunwayModel
import Synchronization

extension PostgresStateStore {
    struct TimedOut: Error, CustomStringConvertible {
        var timeout: Duration
        /// Where the operation was when time ran out (``Stage``), if it says.
        var stage: String?
        var description: String {
            "no answer from PostgreSQL within \(timeout.manifestDescription)" + (stage.map { " (\($0))" } ?? "")
        }
    }

    /// Where an operation is (waiting for a pooled connection, for a job's lock, in its queries,
    /// committing), so that one that times out says which part was slow.
    final class Stage: Sendable {
        private let current: Mutex<String>
        init(_ stage: String) { current = Mutex(stage) }
        var now: String {
            get { current.withLock { $0 } }
            set { current.withLock { $0 = newValue } }
        }

        /// The stage of the operation this task runs, if any.
        @TaskLocal static var ofThisTask: Stage?

        /// Notes where this task's operation is now.
        static func enter(_ stage: String) { ofThisTask?.now = stage }
    }

    /// `body`, or ``TimedOut`` after `timeout`. The body is then cancelled but not waited for:
    /// a request queued for a connection to a server that is down may not end soon, and the
    /// caller must not hang on it.
    static func withDeadline<T: Sendable>(
        _ timeout: Duration, stage: Stage? = nil, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let once = Once()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work = Task { @Sendable in
                let result: Result<T, any Error>
                do { result = .success(try await Stage.$ofThisTask.withValue(stage) { try await body() }) } catch { result = .failure(error) }
                if once.claim() { continuation.resume(with: result) }
            }
            Task { @Sendable in
                try? await Task.sleep(for: timeout)
                if once.claim() {
                    work.cancel()
                    continuation.resume(throwing: TimedOut(timeout: timeout, stage: stage?.now))
                }
            }
        }
    }

    /// True for the first caller only.
    final class Once: Sendable {
        private let done = Mutex(false)
        func claim() -> Bool { done.withLock { done in defer { done = true }; return !done } }
    }

    // MARK: - Reads and transactions, each within the operation timeout

    func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await Self.withDeadline(operationTimeout, stage: Stage("waiting for a pooled connection")) {
                try await self.onAConnection(transaction: false) { connection in
                    Stage.enter("in its queries")
                    return try await body(connection)
                }
            }
        } catch {
            throw StoreError(operation: operation, cause: error)
        }
    }

    func transaction<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await Self.withDeadline(operationTimeout, stage: Stage("waiting for a pooled connection")) {
                try await self.onAConnection(transaction: true) { connection in
                    Stage.enter("in the transaction's queries")
                    let result = try await body(connection)
                    Stage.enter("committing")
                    return result
                }
            }
        } catch let error as PostgresTransactionError {
            if let fenced = error.closureError as? FencedError { throw fenced }
            if let closureError = error.closureError, !(closureError is PSQLError) { throw closureError }
            throw StoreError(operation: operation, cause: error)
        } catch let fenced as FencedError {
            throw fenced
        } catch {
            throw StoreError(operation: operation, cause: error)
        }
    }

    /// `body` on a pooled connection (in a transaction with `transaction`); when the pool has
    /// given none after half the operation timeout, on a connection of its own instead, closed
    /// after. Exactly one of the two runs `body`, and the pool's request is then cancelled, not
    /// waited for. (The pool was seen, rarely, to hand out no connection for a minute while the
    /// server took new ones.)
    func onAConnection<T: Sendable>(transaction: Bool, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let choice = ConnectionChoice()
        let (client, logger, direct, patience) = (client, logger, direct, operationTimeout / 2)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pooled = Task {
                do {
                    let result: T?
                    if transaction {
                        result = try await client.withTransaction(logger: logger) { connection in choice.choose(.pooled) ? try await body(connection) : nil }
                    } else {
                        result = try await client.withConnection { connection in choice.choose(.pooled) ? try await body(connection) : nil }
                    }
                    if let result {
                        choice.stopWaiting()  // the pool answered: no connection of its own is needed
                        continuation.resume(returning: result)
                    }
                } catch {
                    guard choice.choose(.pooled) else { return }  // its own connection took over
                    choice.stopWaiting()
                    continuation.resume(throwing: error)
                }
            }
            choice.wait(Task {
                try? await Task.sleep(for: patience)
                guard choice.choose(.own) else { return }
                pooled.cancel()
                Stage.enter("on a connection of its own, the pool having given none in \(patience.manifestDescription)")
                logger.warning("the connection pool gave no connection in time; this operation opens its own", metadata: ["after": "\(patience)"])
                do {
                    let connection = try await PostgresConnection.connect(configuration: direct, id: Int.random(in: 1_000_000...Int.max), logger: logger)
                    do {
                        let result = transaction ? try await connection.withTransaction(logger: logger) { try await body($0) } : try await body(connection)
                        try? await connection.close()
                        continuation.resume(returning: result)
                    } catch {
                        try? await connection.close()
                        throw error
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            })
        }
    }
}

/// Which connection an operation runs on (``PostgresStateStore/onAConnection(transaction:_:)``):
/// the first to choose has it.
final class ConnectionChoice: Sendable {
    enum Way { case pooled, own }
    private let chosen = Mutex<Way?>(nil)
    /// The wait before an operation opens its own connection, cancelled once the pool answered.
    private let waiting = Mutex<(task: Task<Void, Never>?, stopped: Bool)>((nil, false))

    func wait(_ task: Task<Void, Never>) {
        if waiting.withLock({ state in state.task = task; return state.stopped }) { task.cancel() }
    }

    func stopWaiting() { waiting.withLock { state in state.stopped = true; return state.task }?.cancel() }

    /// Whether `way` is (or now becomes) the one chosen.
    func choose(_ way: Way) -> Bool { chosen.withLock { if $0 == nil { $0 = way }; return $0 == way } }
}
