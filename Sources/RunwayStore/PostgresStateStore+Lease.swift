import Foundation
import RunwayModel
import Logging
import PostgresNIO

/// The leader lease in PostgreSQL: a row taken and renewed in transactions (`FOR UPDATE`), its
/// expiry judged by the server's clock, so replicas whose clocks disagree agree on who leads.
extension PostgresStateStore {
    public func lease(_ name: String, localNow: Date) async throws -> Lease? {
        try await read("read lease \(name)") { connection in
            let (lease, serverNow) = try await Self.lease(name, lock: "", on: connection, logger: self.logger)
            return lease?.onLocalClock(serverNow: serverNow, localNow: localNow)
        }
    }

    public func acquireLease(_ name: String, holder: String, duration: Duration, now given: Date?, localNow: Date) async throws -> Lease? {
        return try await transaction("acquire lease \(name)") { connection -> Lease? in
            _ = try await connection.query(
                "INSERT INTO lease (name, holder, token, expires_at) VALUES (\(name), '', 0, 0) ON CONFLICT (name) DO NOTHING", logger: self.logger)
            let (current, serverNow) = try await Self.lease(name, lock: "FOR UPDATE", on: connection, logger: self.logger)
            // The server's clock judges expiry, unless the caller plays out time (tests).
            let now = given ?? serverNow
            let expiresAt = now.addingTimeInterval(duration.timeInterval)
            if let current, !current.holder.isEmpty, current.holder != holder, current.expiresAt > now { return nil }
            let token = current.map { $0.holder == holder && $0.expiresAt > now ? $0.token : $0.token + 1 } ?? 1
            _ = try await connection.query(
                "UPDATE lease SET holder = \(holder), token = \(token), expires_at = \(expiresAt.timeIntervalSinceReferenceDate) WHERE name = \(name)",
                logger: self.logger)
            let lease = Lease(name: name, holder: holder, token: token, expiresAt: expiresAt)
            return given == nil ? lease.onLocalClock(serverNow: serverNow, localNow: localNow) : lease
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await transaction("release lease \(name)") { connection in
            // Keep the row (its token must keep growing); just let it expire now.
            _ = try await connection.query("UPDATE lease SET expires_at = 0 WHERE name = \(name) AND holder = \(holder)", logger: self.logger)
        }
    }

    /// The lease row, read with `lock` (`FOR UPDATE`, `FOR SHARE`, or "" for none), and the
    /// server's clock at that moment: the one clock every replica's lease is judged by (this
    /// host's when there is no row, which then judges nothing).
    static func lease(_ name: String, lock: String, on connection: PostgresConnection, logger: Logger) async throws
        -> (Lease?, serverNow: Date)
    {
        // Seconds since 2001-01-01 (a Date's reference date), as expires_at is stored.
        let sql = "SELECT holder, token, expires_at, extract(epoch from clock_timestamp())::float8 - 978307200 FROM lease WHERE name = $1 "
            + lock
        var binds = PostgresBindings()
        binds.append(name)
        for try await (holder, token, expiresAt, now) in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            .decode((String, Int64, Double, Double).self)
        {
            let serverNow = Date(timeIntervalSinceReferenceDate: now)
            let lease = Lease(name: name, holder: holder, token: token, expiresAt: Date(timeIntervalSinceReferenceDate: expiresAt))
            return (holder.isEmpty ? nil : lease, serverNow)
        }
        return (nil, Date())
    }
}
