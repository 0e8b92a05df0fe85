import ArgumentParser
import Foundation
import RunwayModel
import RunwayServer

/// `runway explain JOB`: why a job is in its state, from its record and event trail.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Say why a job is in its state (waiting, held, failed…), with its event trail.")

    @Argument(help: "A job name (exact).")
    var job: String

    @OptionGroup var read: ReadOptions

    func run() async throws {
        let source = try await read.source()
        guard let detail = try await source.detail(job: job),
            let record = detail.records.filter({ $0.state != "scheduled" }).max(by: { ($0.updatedAt, $0.run) < ($1.updatedAt, $1.run) })
                ?? detail.records.max(by: { $0.updatedAt < $1.updatedAt })
        else {
            throw failure("no job named '\(job)' \(source.place)", .failure)
        }
        // The current generation's trail, every run of it (earlier runs stay in the records).
        let events = detail.events.filter { $0.generation == record.generation }
        let run = record.run > 1 || record.origin != nil ? " (run \(record.run)\(record.origin.map { ": \($0)" } ?? ""))" : ""
        print("\(job)\(run): \(Self.explanation(record, events: events.filter { $0.run == record.run }, now: Date()))")
        if let next = detail.events.last(where: { $0.kind == "waiting" && $0.message.hasPrefix("waiting: next run at") }),
            record.state != "scheduled", detail.records.contains(where: { $0.state == "scheduled" })
        {
            print("schedule: \(next.message.dropFirst("waiting: ".count))")
        }
        print("")
        for event in events {
            let attempt = event.attempt.map { " #\($0)" } ?? ""
            let run = event.run > 1 ? " run \(event.run)" : ""
            print("  \(event.at.formatted(.iso8601))  \(event.kind)\(run)\(attempt)  \(event.message)")
        }
    }

    static func explanation(_ record: JobStatusDocument, events: [JobDetailDocument.Event], now: Date) -> String {
        if record.state == "blocked" { return record.lastReason ?? "blocked by a dependency" }
        if record.state == "scheduled" {
            if let wait = events.last(where: { $0.kind == "waiting" }) { return "scheduled: " + wait.message.replacingOccurrences(of: "waiting: ", with: "") }
            return "scheduled: waits for its next tick"
        }
        switch JobRecord.State(rawValue: record.state) {
        case .pending:
            if let until = record.nextAttemptAt, until > now {
                return "waiting: backoff until \(until.formatted(.iso8601)) after \(record.lastReason ?? "a failed attempt")"
            }
            if let wait = events.last(where: { $0.kind == "waiting" }), events.last?.kind == "waiting" { return wait.message }
            return "pending: its next attempt starts at the next reconcile pass"
        case .held:
            let since = record.heldSince.map { String(format: " for %.1fs", now.timeIntervalSince($0)) } ?? ""
            return "held: attempt \(record.attempts) waits\(since) for its runner to connect"
        case .running:
            let heard = record.lastHeartbeatAt.map { String(format: "; last heartbeat %.1fs ago", now.timeIntervalSince($0)) } ?? ""
            return "running: attempt \(record.attempts)\(heard)"
        case .succeeded:
            return "succeeded on attempt \(record.attempts)"
        case .failed:
            return "failed: \(record.lastReason ?? "no reason recorded")"
        case .cancelled:
            return "cancelled: \(record.lastReason ?? "no reason recorded")"
        case nil:
            return "\(record.state) (a state this runway does not know)"
        }
    }
}
