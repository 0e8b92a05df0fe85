import Foundation
import Logging
import NIOSSL
import PostgresNIO
import RunwayModel
import Synchronization

/// The store for several controllers on several hosts: PostgreSQL through postgres-nio's pooled
/// client. The same tables as the SQLite store; rows travel as JSON (`row_to_json` out,
/// `json_populate_record` in) through the same Codable row types, so both stores read and write
/// identical records. `modify` serializes on the job with a transaction-level advisory lock, and
/// a fenced write checks the lease row (`FOR SHARE`) in its own transaction.
public final class PostgresStateStore: StateStore {
    let client: PostgresClient
    /// How to connect outside the pool, for an operation the pool keeps waiting.
    let direct: PostgresConnection.Configuration
    private let running: Task<Void, Never>
    private let observer: CommitObserver?
    let logger: Logger
    /// Longest a store operation may take (``Location/operationTimeout``).
    let operationTimeout: Duration

    /// Connects (in the background, with the pool's reconnects), migrates under an advisory lock,
    /// and is ready. `observer` hears of every committed change.
    public init(location: Location, observer: CommitObserver? = nil, logger: Logger = Logger(label: "runway.store.postgres")) async throws {
        var tlsConfiguration: TLSConfiguration?
        if location.sslMode != "disable" {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if location.sslMode == "require" {
                configuration.certificateVerification = .none
            } else if let root = location.rootCertificate {
                configuration.trustRoots = .file(root)
            }
            tlsConfiguration = configuration
        }
        // A controller frozen in the middle of a transaction (a paused VM, SIGSTOP, a long stall)
        // must not keep the lease row or a job's lock from the others for ever: the server ends a
        // session left idle inside a transaction for longer than any operation may take.
        let idleLimit = max(Int(location.operationTimeout.timeInterval * 1000), 1000)
        // One connection first, on its own: the pool reports only that it gave up, this one why.
        direct = try await Self.checkConnection(location, tls: tlsConfiguration, idleLimit: idleLimit, logger: logger)
        let tls = tlsConfiguration.map(PostgresClient.Configuration.TLS.require) ?? .disable
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password, database: location.database, tls: tls)
        configuration.options.maximumConnections = 8
        configuration.options.additionalStartupParameters = [("idle_in_transaction_session_timeout", String(idleLimit))]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        // Started at once (not just scheduled), so the pool runs before the first lease.
        self.running = Task.immediate { await client.run() }
        self.observer = observer
        self.logger = logger
        self.operationTimeout = location.operationTimeout
        do {
            try await migrate()
        } catch {
            running.cancel()
            throw StoreError(operation: "open \(location)", cause: error)
        }
    }

    deinit { running.cancel() }

    /// Connects once, so that a wrong address, certificate or password fails with its reason;
    /// returns how to connect outside the pool (``onAConnection(_:transaction:_:)``).
    private static func checkConnection(_ location: Location, tls: TLSConfiguration?, idleLimit: Int, logger: Logger) async throws
        -> PostgresConnection.Configuration
    {
        do {
            let context = try tls.map { try NIOSSLContext(configuration: $0) }
            var configuration = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: context.map(PostgresConnection.Configuration.TLS.require) ?? .disable)
            configuration.options.additionalStartupParameters = [("idle_in_transaction_session_timeout", String(idleLimit))]
            let connection = try await withDeadline(location.operationTimeout) { [configuration] in
                try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            }
            try? await connection.close()
            return configuration
        } catch {
            let reason = StoreError.reason(error)
            guard reason.contains("CERTIFICATE_VERIFY_FAILED") else { throw StoreError(operation: "connect to \(location)", cause: error) }
            throw StoreError(
                operation: "connect to \(location)",
                cause: Location.Invalid(text: "the server's certificate is not trusted (is sslrootcert the CA that signed it?): \(reason)"))
        }
    }

    /// The schema versions applied, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await read("read migrations") { connection in
            try await Self.strings(connection.query("SELECT version FROM schema_migration ORDER BY applied_at, version", logger: self.logger))
        }
    }

    private func migrate() async throws {
        try await client.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(PostgresSchema.migrationLock))", logger: logger)
            do {
                _ = try await connection.query(
                    "CREATE TABLE IF NOT EXISTS schema_migration (version text PRIMARY KEY, applied_at double precision NOT NULL)", logger: logger)
                let applied = Set(try await Self.strings(connection.query("SELECT version FROM schema_migration", logger: logger)))
                for (version, statements) in PostgresSchema.migrations where !applied.contains(version) {
                    try await connection.withTransaction(logger: logger) { connection in
                        for statement in statements { _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                        let now = Date().timeIntervalSinceReferenceDate
                        _ = try await connection.query("INSERT INTO schema_migration (version, applied_at) VALUES (\(version), \(now))", logger: logger)
                    }
                    logger.info("migrated the store", metadata: ["version": "\(version)"])
                }
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))", logger: logger)
                throw error
            }
            _ = try await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.migrationLock))", logger: logger)
        }
    }

    // MARK: - Reads

    public func jobRecords() async throws -> [JobRecord] {
        try await rows(JobRow.self, "job", where: "TRUE", order: "job, generation").map(\.model)
    }

    public func jobRecords(job: String) async throws -> [JobRecord] {
        try await rows(JobRow.self, "job", where: "job = $1", order: "updated_at DESC", [job]).map(\.model)
    }

    public func attempts(job: String) async throws -> [AttemptRecord] {
        try await rows(AttemptRow.self, "attempt", where: "job = $1", order: "requested_at, number", [job]).map(\.model)
    }

    public func openAttempts() async throws -> [AttemptRecord] {
        try await rows(AttemptRow.self, "attempt", where: "state NOT IN ('completed', 'failed')", order: "requested_at").map(\.model)
    }

    public func attempt(id: String) async throws -> AttemptRecord? {
        try await rows(AttemptRow.self, "attempt", where: "id = $1", order: "id", [id]).first?.model
    }

    public func liveTokenHashes(completedSince: Date) async throws -> [String: String] {
        try await read("read live tokens") { [logger] connection in
            let since = completedSince.timeIntervalSince1970
            let live = "a.state NOT IN ('completed', 'failed') OR (a.state = 'completed' AND a.completed_at >= $1)"
            let sql = """
                SELECT a.token_hash, a.id FROM attempt a WHERE \(live)
                UNION ALL SELECT t.token_hash, t.attempt_id FROM attempt_token t JOIN attempt a ON a.id = t.attempt_id WHERE \(live)
                """
            var binds = PostgresBindings()
            binds.append(since)
            var hashes: [String: String] = [:]
            for try await (hash, id) in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
                .decode((String, String).self)
            {
                hashes[hash] = hashes[hash] ?? id
            }
            return hashes
        }
    }

    public func events(job: String) async throws -> [JobEvent] {
        try await rows(EventRow.self, "event", where: "job = $1", order: "id", [job]).map(\.model)
    }

    public func logChunks(attemptID: String) async throws -> [LogChunk] {
        try await rows(LogChunkRow.self, "log_chunk", where: "attempt_id = $1", order: "seq", [attemptID]).map(\.model)
    }

    public var isSingleHost: Bool { false }

    public var keepsLogOutput: Bool { true }

    public func logOutput(attemptID: String, range: Range<Int>) async throws -> [UInt8] {
        try await read("read log output of \(attemptID)") { connection in
            var bytes: [UInt8] = []
            let (lower, upper) = (Int64(range.lowerBound), Int64(range.upperBound))
            let rows = try await connection.query(
                """
                SELECT o.bytes, c."offset" FROM log_output o JOIN log_chunk c ON c.attempt_id = o.attempt_id AND c.seq = o.seq
                WHERE o.attempt_id = \(attemptID) AND c."offset" < \(upper) AND c."offset" + c.length > \(lower) ORDER BY o.seq
                """, logger: self.logger)
            for try await (chunk, offset) in rows.decode((ByteBuffer, Int64).self) {
                let view = Array(chunk.readableBytesView)
                let from = max(0, Int(lower - offset)), to = min(view.count, Int(upper - offset))
                if from < to { bytes += view[from..<to] }
            }
            return bytes
        }
    }

    public func controllerFacts() async throws -> [String: String] {
        try await read("read controller facts") { connection in
            var facts: [String: String] = [:]
            for try await (key, value) in try await connection.query("SELECT key, value FROM controller_fact", logger: self.logger).decode((String, String).self) {
                facts[key] = value
            }
            return facts
        }
    }

    // MARK: - Writes

    public func apply(_ change: StoreChange) async throws {
        guard !change.isEmpty else { return }
        try await transaction("write") { connection in try await self.write(change, on: connection) }
        observer?(change, nil)
    }

    public func modify<T: Sendable>(
        _ lookup: AttemptLookup, _ decide: @escaping @Sendable (AttemptRecord?, JobRecord?) throws -> (StoreChange, T)
    ) async throws -> T {
        let (change, record, result) = try await transaction("modify") { connection -> (StoreChange, JobRecord?, T) in
            // Find the job, lock it for this transaction, then read what `decide` sees.
            var key: JobKey?
            switch lookup {
            case .job(let job): key = job
            case .id(let id): key = try await self.row(AttemptRow.self, "attempt", where: "id = $1", [id], on: connection)?.model.key
            case .tokenHash(let hash): key = try await self.row(AttemptRow.self, "attempt", where: Self.byTokenHash, [hash], on: connection)?.model.key
            }
            if let key {
                Stage.enter("waiting for job \(key.job)'s lock")
                _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(key.job + "\u{1F}" + key.generation.digest)))", logger: self.logger)
                Stage.enter("in the transaction's queries")
            }
            let attempt: AttemptRecord?
            let record = try await key.asyncFlatMap { key in
                try await self.row(
                    JobRow.self, "job", where: "job = $1 AND generation = $2 AND run = $3::bigint", [key.job, key.generation.digest, String(key.run)],
                    on: connection)?.model
            }
            switch lookup {
            case .id(let id): attempt = try await self.row(AttemptRow.self, "attempt", where: "id = $1", [id], on: connection)?.model
            case .tokenHash(let hash): attempt = try await self.row(AttemptRow.self, "attempt", where: Self.byTokenHash, [hash], on: connection)?.model
            case .job:
                attempt = try await record.asyncFlatMap { record in
                    try await self.row(AttemptRow.self, "attempt", where: "id = $1", [AttemptRecord.id(of: record)], on: connection)?.model
                }
            }
            let (change, result) = try decide(attempt, record)
            try await self.write(change, on: connection)
            return (change, record, result)
        }
        if !change.isEmpty { observer?(change, record) }
        return result
    }

    public func publish(_ facts: [String: String?]) async throws {
        try await transaction("publish facts") { connection in
            // In key order: two controllers publishing at once otherwise lock the rows in
            // different orders and deadlock (PostgreSQL then fails one of them).
            for (key, value) in facts.sorted(by: { $0.key < $1.key }) {
                if let value {
                    _ = try await connection.query(
                        "INSERT INTO controller_fact (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        logger: self.logger)
                } else {
                    _ = try await connection.query("DELETE FROM controller_fact WHERE key = \(key)", logger: self.logger)
                }
            }
        }
    }

    // MARK: - Rows as JSON

    func write(_ change: StoreChange, on connection: PostgresConnection) async throws {
        if let fence = change.fence {
            // FOR SHARE: fenced writes go side by side, while taking the lease (an UPDATE) waits
            // for every one of them to commit, and they for it.
            let (current, serverNow) = try await Self.lease(fence.name, lock: "FOR SHARE", on: connection, logger: logger)
            guard let current, current.holder == fence.holder, current.token == fence.token, current.expiresAt > serverNow else {
                throw FencedError(lease: fence, current: current)
            }
        }
        for record in change.records { try await upsert(JobRow(record), into: "job", key: ["job", "generation", "run"], on: connection) }
        for attempt in change.attempts { try await upsert(AttemptRow(attempt), into: "attempt", key: ["id"], on: connection) }
        for event in change.events { try await insert(EventRow(event), into: "event", on: connection, conflict: nil) }
        for request in change.requests { try await upsert(RequestRow(request), into: "job_request", key: ["id"], on: connection) }
        for (hash, attemptID) in change.tokenAliases {
            _ = try await connection.query(
                "INSERT INTO attempt_token (token_hash, attempt_id) VALUES (\(hash), \(attemptID)) ON CONFLICT (token_hash) DO NOTHING",
                logger: logger)
        }
        for chunk in change.logChunks {
            try await insert(LogChunkRow(chunk), into: "log_chunk", on: connection, conflict: "ON CONFLICT (attempt_id, seq) DO NOTHING")
            if let bytes = chunk.bytes {
                _ = try await connection.query(
                    "INSERT INTO log_output (attempt_id, seq, bytes) VALUES (\(chunk.attemptID), \(chunk.seq), \(ByteBuffer(bytes: bytes))) ON CONFLICT (attempt_id, seq) DO NOTHING",
                    logger: logger)
            }
        }
    }

    /// Inserts `row`, or updates every column of the row with the same `key`.
    func upsert(_ row: some Encodable, into table: String, key: [String], on connection: PostgresConnection) async throws {
        let columns = Self.columns(of: row)
        let updates = columns.filter { !key.contains($0) }.map { "\(Self.quoted($0)) = EXCLUDED.\(Self.quoted($0))" }.joined(separator: ", ")
        try await insert(row, into: table, on: connection, conflict: "ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET \(updates)")
    }

    func insert(_ row: some Encodable, into table: String, on connection: PostgresConnection, conflict: String?) async throws {
        let columns = Self.columns(of: row).filter { $0 != "id" || table != "event" }.map(Self.quoted).joined(separator: ", ")
        var binds = PostgresBindings()
        binds.append(String(decoding: try Self.encoder.encode(row), as: UTF8.self))
        let sql = "INSERT INTO \(table) (\(columns)) SELECT \(columns) FROM json_populate_record(NULL::\(table), $1::json) \(conflict ?? "")"
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    func rows<Row: Decodable & Sendable>(_ type: Row.Type, _ table: String, where condition: String, order: String, _ values: [String] = [])
        async throws -> [Row]
    {
        try await read("read \(table)") { connection in
            try await self.rows(type, table, where: condition, order: order, values, on: connection)
        }
    }

    /// The attempt a token hash claims: its current token, or one it kept (``StoreChange/tokenAliases``).
    static let byTokenHash = "token_hash = $1 OR id = (SELECT attempt_id FROM attempt_token WHERE token_hash = $1)"

    func row<Row: Decodable>(_ type: Row.Type, _ table: String, where condition: String, _ values: [String], on connection: PostgresConnection)
        async throws -> Row?
    {
        try await rows(type, table, where: condition, order: "1", values, on: connection).first
    }

    func rows<Row: Decodable>(
        _ type: Row.Type, _ table: String, where condition: String, order: String, _ values: [String], on connection: PostgresConnection
    ) async throws -> [Row] {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        let sql = "SELECT row_to_json(t)::text FROM \(table) t WHERE \(condition) ORDER BY \(order)"
        let texts = try await Self.strings(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger))
        return try texts.map { try Self.decoder.decode(type, from: Data($0.utf8)) }
    }

    /// The snake_case column names of a row type's properties, in declaration order.
    private static func columns(of row: some Encodable) -> [String] {
        Mirror(reflecting: row).children.compactMap(\.label).map { label in
            label.reduce(into: "") { name, character in
                if character.isUppercase {
                    name += "_" + character.lowercased()
                } else {
                    name.append(character)
                }
            }
        }
    }

    private static func quoted(_ column: String) -> String { "\"\(column)\"" }

    /// Dates as the Double since the reference date they hold (`deferredToDate`), keys snake_case.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    static func strings(_ rows: PostgresRowSequence) async throws -> [String] {
        var strings: [String] = []
        for try await (text,) in rows.decode((String,).self) { strings.append(text) }
        return strings
    }
}

extension Optional {
    fileprivate func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
