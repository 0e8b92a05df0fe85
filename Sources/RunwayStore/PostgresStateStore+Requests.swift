import Foundation
import PostgresNIO
import RunwayModel

extension PostgresStateStore {
    public func request(_ request: JobRequest) async throws -> JobRequest {
        try await transaction("record request \(request.id)") { connection in
            try await self.insert(RequestRow(request), into: "job_request", on: connection, conflict: "ON CONFLICT (id) DO NOTHING")
            return try await self.row(RequestRow.self, "job_request", where: "id = $1", [request.id], on: connection)?.model ?? request
        }
    }

    public func openRequests() async throws -> [JobRequest] {
        try await rows(RequestRow.self, "job_request", where: "handled_at IS NULL", order: "requested_at, id").map(\.model)
    }

    public func requests(job: String) async throws -> [JobRequest] {
        try await rows(RequestRow.self, "job_request", where: "job = $1", order: "requested_at, id", [job]).map(\.model)
    }

    public func recordHeartbeats(_ beats: [String: Date]) async throws {
        guard !beats.isEmpty else { return }
        try await transaction("record \(beats.count) heartbeats") { connection in
            for (id, at) in beats {
                var binds = PostgresBindings()
                binds.append(at.timeIntervalSinceReferenceDate)
                binds.append(id)
                let updated = try await connection.query(PostgresQuery(unsafeSQL: HeartbeatSQL.attempt { "$\($0)" } + " RETURNING id", binds: binds), logger: self.logger)
                var found = false
                for try await _ in updated.decode(String.self) { found = true }
                guard found else { continue }
                _ = try await connection.query(PostgresQuery(unsafeSQL: HeartbeatSQL.record { "$\($0)" }, binds: binds), logger: self.logger)
            }
        }
    }

    public func compact(_ runs: [JobKey]) async throws {
        guard !runs.isEmpty else { return }
        try await transaction("compact \(runs.count) runs") { connection in
            for run in runs {
                let (job, generation, number) = (run.job, run.generation.digest, Int64(run.run))
                let ids = "SELECT id FROM attempt WHERE job = $1 AND generation = $2 AND run = $3"
                for table in ["log_output", "log_chunk", "attempt_token"] {
                    _ = try await connection.query(
                        PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE attempt_id IN (\(ids))", binds: Self.binds(job, generation, number)),
                        logger: self.logger)
                }
                for statement in [
                    "DELETE FROM attempt WHERE job = $1 AND generation = $2 AND run = $3",
                    "DELETE FROM event WHERE job = $1 AND generation = $2 AND run = $3",
                    "UPDATE job SET compacted = true WHERE job = $1 AND generation = $2 AND run = $3",
                ] {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement, binds: Self.binds(job, generation, number)), logger: self.logger)
                }
            }
        }
    }

    private static func binds(_ job: String, _ generation: String, _ run: Int64) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(job)
        binds.append(generation)
        binds.append(run)
        return binds
    }
}
