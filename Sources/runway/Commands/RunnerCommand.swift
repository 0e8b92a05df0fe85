import ArgumentParser
import Foundation
import RunwayRunner

/// `runway runner`: the agent inside every runner task.
struct RunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Run the runner agent (inside a runner task).",
        discussion: """
            Reads RUNWAY_SERVER_URL, RUNWAY_TASK_TOKEN and RUNWAY_TASK_ID, claims the one job this \
            task was launched for, runs it with its environment and working directory, streams its \
            output, heartbeats, forwards SIGTERM to it, reports its exit code and exits with it. \
            Exit status 3: no job could be claimed.
            """
    )

    func run() async throws {
        throw ExitCode(await RunnerAgent.main(environment: ProcessInfo.processInfo.environment, name: "runway runner"))
    }
}
