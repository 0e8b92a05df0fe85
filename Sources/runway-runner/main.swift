// `runway-runner`: the runner agent alone, linking only what it needs (RunwayRunner: the model,
// the HTTP client, process control, logging) — none of the controller's server, stores,
// launchers or manifest parsers — so a task's runner starts fast. It is the same code as
// `runway runner`, which keeps working; a leading `runner` argument is accepted, so
// `runway-runner runner` runs where `runway runner` would.
import Foundation
import RunwayModel
import RunwayRunner

let usage = """
    USAGE: runway-runner [runner] [--version] [--help] [--install DIR]

    The runner agent inside a runner task: reads RUNWAY_SERVER_URL, RUNWAY_TASK_TOKEN and
    RUNWAY_TASK_ID (and RUNWAY_SERVER_CA for TLS), claims the one job the task was launched for,
    runs it, streams its output, heartbeats, forwards SIGTERM to it, reports its exit code and
    exits with it. Exit status 3: no job could be claimed; 2: not inside a task.
    --install DIR copies the runner bundle this image holds (/runway) into DIR.

    """

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "runner" { arguments.removeFirst() }
switch arguments.first {
case nil:
    exit(await RunnerAgent.main(environment: ProcessInfo.processInfo.environment, name: "runway-runner"))
case "--version":
    print(RunwayVersion.current)
case "--help", "-h":
    print(usage, terminator: "")
case "--install" where arguments.count == 2:
    do {
        try RunnerAgent.installBundle(into: arguments[1])
    } catch {
        FileHandle.standardError.write(Data("runway-runner: cannot install the runner bundle into \(arguments[1]): \(error)\n".utf8))
        exit(1)
    }
default:
    FileHandle.standardError.write(Data("runway-runner: unknown argument '\(arguments[0])'\n\(usage)".utf8))
    exit(2)
}
