import ArgumentParser
import Foundation

/// `runway logs JOB`: the output of a job's attempt.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the output of a job's latest attempt (or of --attempt N).")

    @Argument(help: "A job name (exact).")
    var job: String

    @Option(name: .long, help: "The attempt number (default: the latest).")
    var attempt: Int?

    @OptionGroup var read: ReadOptions

    func run() async throws {
        let source = try await read.source()
        let found = try await source.logs(job: job, attempt: attempt) { FileHandle.standardOutput.write(Data($0)) }
        guard found else { throw failure("no attempt\(attempt.map { " \($0)" } ?? "") of job '\(job)' \(source.place)", .failure) }
    }
}
