import PostgresNIO
import RunwayModel

extension PostgresStateStore {
    /// The cursor is the oldest transaction still running when the read began (its snapshot's
    /// xmin): every record committed after this read was written by a transaction no older, so
    /// the next read asks for the records such transactions wrote. Commits land out of the
    /// order transactions began; this never misses one, and may return a few twice.
    public func jobRecords(changedSince cursor: Int64?) async throws -> (records: [JobRecord], cursor: Int64) {
        try await read("read changed job records") { connection in
            let horizon = try await Self.strings(
                connection.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", logger: self.logger)
            ).first.flatMap { Int64($0) } ?? 0
            let rows = try await self.rows(
                JobRow.self, "job", where: "writer >= $1::bigint", order: "job, generation, run", [String(cursor ?? -1)], on: connection)
            return (rows.map(\.model), horizon)
        }
    }
}
