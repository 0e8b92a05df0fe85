import Foundation

extension PostgresStateStore {
    /// Where to connect, from `postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]`.
    public struct Location: Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        /// `disable` (default), `require` (encrypt, do not verify), `verify-full` (verify against `sslrootcert` or the system's CAs).
        public var sslMode: String
        public var rootCertificate: String?
        /// Longest a store operation may take, waiting for a connection or a lock included: a
        /// server that is down or stuck makes operations fail (and the controller not ready),
        /// not hang. Default 5 seconds.
        public var operationTimeout: Duration = .seconds(5)

        /// Parses the URL; a password given apart (`password`, from a file or the environment)
        /// wins over one in the URL.
        public init(url: String, password: String? = nil) throws {
            guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
                let host = components.host, !host.isEmpty
            else { throw StoreError(operation: "parse the store URL", cause: Invalid(text: "expected postgres://user@host:port/database")) }
            self.host = host
            port = components.port ?? 5432
            user = components.user ?? "runway"
            self.password = password ?? components.password
            let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            database = path.isEmpty ? user : path
            let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
            sslMode = query["sslmode"] ?? "disable"
            rootCertificate = query["sslrootcert"]
            guard ["disable", "require", "verify-full"].contains(sslMode) else {
                throw StoreError(operation: "parse the store URL", cause: Invalid(text: "sslmode must be disable, require or verify-full, found \(sslMode)"))
            }
        }

        /// The URL without its password, for logs and messages.
        public var description: String { "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode)" }

        struct Invalid: Error, CustomStringConvertible {
            var text: String
            var description: String { text }
        }
    }
}
