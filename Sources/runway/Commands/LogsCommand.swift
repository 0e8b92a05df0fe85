import ArgumentParser
import Foundation
import RunwayServer

/// `runway logs JOB`: the output of a job's attempt.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the output of a job's latest attempt (or of --attempt N).")

    @Argument(help: "A job name (exact).")
    var job: String

    @Option(name: .long, help: "The attempt number (default: the latest).")
    var attempt: Int?

    @OptionGroup var state: StateOptions

    func run() async throws {
        let store = try Wiring.requireStore(state.stateDir)
        guard let bytes = try await JobLogs.read(
            job: job, attempt: attempt, store: store, files: LogFiles(directory: state.stateDir + "/logs"))
        else {
            throw failure("no attempt\(attempt.map { " \($0)" } ?? "") of job '\(job)' in \(state.stateDir)", .failure)
        }
        FileHandle.standardOutput.write(Data(bytes))
    }
}
