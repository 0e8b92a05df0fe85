import ArgumentParser
import Foundation

/// `runway logs JOB`: the output of a job's attempt.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the output of a job's latest attempt (or of --attempt N, of --run N).")

    @Argument(help: "A job name (exact).")
    var job: String

    @Option(name: .long, help: "The attempt number (default: the latest).")
    var attempt: Int?

    @Option(name: .long, help: "The run of the job's generation (default: the latest; see `runway rerun`).")
    var run: Int?

    @OptionGroup var read: ReadOptions

    func run() async throws {
        let source = try await read.source()
        let found = try await source.logs(job: job, run: run, attempt: attempt) { FileHandle.standardOutput.write(Data($0)) }
        guard found else {
            let which = (attempt.map { " \($0)" } ?? "") + (run.map { " of run \($0)" } ?? "")
            throw failure("no attempt\(which) of job '\(job)' \(source.place)", .failure)
        }
    }
}
