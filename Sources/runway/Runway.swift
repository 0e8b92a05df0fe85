import ArgumentParser
import Foundation
import RunwayModel

/// `runway`: argument parsing and wiring only; the work lives in the library targets.
@main
struct Runway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runway",
        abstract: "An on-demand runner controller: runs each job of a manifest directory on a runner task it launches.",
        discussion: """
            Runner profiles and jobs are YAML or JSON manifests in a directory. Runway compares \
            the runner tasks that should exist with those that do, and reconciles them.
            """,
        version: RunwayVersion.current,
        subcommands: [
            ValidateCommand.self, PlanCommand.self, ApplyCommand.self, ControllerCommand.self, StatusCommand.self, LogsCommand.self,
            ExplainCommand.self, RerunCommand.self, CancelCommand.self, ProfilesCommand.self, RunnerCommand.self, ConvertCommand.self, FmtCommand.self,
        ]
    )
}

/// Exit codes shared by every command.
enum ExitStatus {
    /// Manifests are invalid (`validate`).
    static let invalid = ExitCode(1)
    /// A job did not succeed (`apply`).
    static let jobsFailed = ExitCode(1)
    /// Manifests are invalid or usage is wrong (`plan`, `apply`).
    static let unusable = ExitCode(2)
}

/// A command that cannot go on: prints `error: message` on stderr and gives the exit code to throw.
func failure(_ message: String, _ status: ExitCode) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return status
}
