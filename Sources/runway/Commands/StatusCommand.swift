import ArgumentParser
import Foundation
import RunwayModel
import RunwayServer

/// `runway status [JOB]`: what the store says about each job.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each job's state, attempts, last reason and exit code.",
        discussion: "Without JOB: one line per job (its current run). With JOB: every generation, run, attempt and request."
    )

    @Argument(help: "A job name (exact).")
    var job: String?

    @OptionGroup var read: ReadOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let source = try await read.source()
        if output.output == .text, let warning = try await source.warning() {
            print(warning)
        }
        if let job {
            guard let detail = try await source.detail(job: job) else {
                throw failure("no job named '\(job)' \(source.place)", .failure)
            }
            switch output.output {
            case .json: print(JSONOutput.encode(detail))
            case .text: print(Self.text(detail), terminator: "")
            }
            return
        }
        let jobs = try await source.jobs()
        switch output.output {
        case .json: print(JSONOutput.encode(jobs))
        case .text: print(SummaryTable.text(jobs, cancelled: false).dropFirst(), terminator: "")
        }
    }

    static func text(_ detail: JobDetailDocument) -> String {
        var out = ""
        for record in detail.records {
            out += "generation \(record.generation.prefix(8)) run \(record.run): \(record.state), \(record.attempts) attempt(s)"
            if let code = record.exitCode { out += ", exit code \(code)" }
            if let reason = record.lastReason { out += " — \(reason)" }
            if let origin = record.origin { out += " (\(origin))" }
            if record.compacted { out += " [compacted: attempts, events and logs removed by the history limit]" }
            out += "\n"
        }
        for attempt in detail.attempts {
            out += "  attempt \(attempt.number) [\(attempt.generation.prefix(8)) run \(attempt.run)] \(attempt.task): \(attempt.state)"
            if let code = attempt.exitCode { out += ", exit code \(code)" }
            if let reason = attempt.reason { out += " — \(reason)" }
            out += "\n"
        }
        for request in detail.requests {
            out += "  \(request.kind.rawValue) \(request.id) by \(request.requestedBy) at \(request.requestedAt.formatted(.iso8601))"
            out += request.reason.map { ": \($0)" } ?? ""
            out += " — " + (request.outcome ?? "waiting for the controller's next pass") + "\n"
        }
        return out
    }
}
