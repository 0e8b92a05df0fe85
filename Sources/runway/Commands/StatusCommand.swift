import ArgumentParser
import Foundation
import RunwayModel
import RunwayServer

/// `runway status [JOB]`: what the store says about each job.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each job's state, attempts, last reason and exit code.",
        discussion: "Without JOB: one line per job (its latest generation). With JOB: every generation and attempt."
    )

    @Argument(help: "A job name (exact).")
    var job: String?

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let store = try Wiring.requireStore(state.stateDir)
        let facts = try await store.controllerFacts()
        if output.output == .text, facts["manifests.valid"] == "false" {
            // The banner: a controller is running on its last good manifests.
            let errors = (facts["manifests.errors"] ?? "").split(separator: "\n")
            print("WARNING: the manifests are invalid (checked \(facts["manifests.checked-at"] ?? "?")); "
                + "the controller keeps the last good ones in force. \(errors.count) error(s):")
            for error in errors.prefix(5) { print("  \(error)") }
            print("")
        }
        if let job {
            guard let detail = try await JobDetailDocument.load(job: job, from: store) else {
                throw failure("no job named '\(job)' in \(state.stateDir)", .failure)
            }
            switch output.output {
            case .json: print(JSONOutput.encode(detail))
            case .text: print(Self.text(detail), terminator: "")
            }
            return
        }
        let records = try await store.jobRecords()
        let latest = Dictionary(grouping: records, by: \.job).compactMap { $0.value.max { $0.updatedAt < $1.updatedAt } }
            .sorted { $0.job < $1.job }
        switch output.output {
        case .json: print(JSONOutput.encode(latest.map(JobStatusDocument.init)))
        case .text: print(SummaryTable.text(latest, cancelled: false).dropFirst(), terminator: "")
        }
    }

    static func text(_ detail: JobDetailDocument) -> String {
        var out = ""
        for record in detail.records {
            out += "generation \(record.generation.prefix(8)): \(record.state), \(record.attempts) attempt(s)"
            if let code = record.exitCode { out += ", exit code \(code)" }
            if let reason = record.lastReason { out += " — \(reason)" }
            out += "\n"
        }
        for attempt in detail.attempts {
            out += "  attempt \(attempt.number) [\(attempt.generation.prefix(8))] \(attempt.task): \(attempt.state)"
            if let code = attempt.exitCode { out += ", exit code \(code)" }
            if let reason = attempt.reason { out += " — \(reason)" }
            out += "\n"
        }
        return out
    }
}
