import ArgumentParser
import Foundation
import RunwayModel
import RunwayStore

/// `runway rerun JOB`: run the job's current generation once more, as a new run.
struct RerunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Run a job's current generation again, as a new run (attempts count from 1).",
        discussion: """
            Through a controller (--server: its API, with the operator's token) or into the state \
            dir or store directly: the controller's (or the next apply's) next pass takes it up. \
            The same --request-id again is the same request and runs nothing more.
            """)

    @Argument(help: "A job name (exact).")
    var job: String

    @OptionGroup var request: RequestOptions

    func run() async throws { try await request.send(.rerun, job: job) }
}

/// `runway cancel JOB`: end the job's open run, with no retry.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job's open run: its task is stopped (SIGTERM, then the grace), no retry follows.",
        discussion: """
            The run ends `cancelled` and stays so until the spec changes or the job is rerun. A \
            held or waiting run ends without starting anything. On a scheduled job only the \
            current run ends; the schedule goes on (set `suspend: true` to pause it).
            """)

    @Argument(help: "A job name (exact).")
    var job: String

    @OptionGroup var request: RequestOptions

    func run() async throws { try await request.send(.cancel, job: job) }
}

/// Where and how a rerun or cancel is sent.
struct RequestOptions: ParsableArguments {
    @Option(name: .long, help: "Why (recorded in the job's event trail).")
    var reason: String?

    @Option(name: .long, help: "An id that makes the request safe to repeat (default: a random one).")
    var requestID: String?

    @OptionGroup var read: ReadOptions
    @OptionGroup var output: OutputOptions

    struct Body: Encodable {
        var requestId: String
        var reason: String?
        var requestedBy: String
    }

    func send(_ kind: JobRequest.Kind, job: String) async throws {
        let id = requestID ?? UUID().uuidString.lowercased()
        guard JobRequest.isValidID(id) else { throw ValidationError("--request-id must be 1-128 printable ASCII characters without spaces") }
        let recorded: JobRequest
        switch try await read.source() {
        case .remote(let client):
            let path = "/v1/jobs/\(ReadClient.escape(job))/\(kind.rawValue)"
            guard let answer = try await client.post(JobRequest.self, path, body: Body(requestId: id, reason: reason, requestedBy: Self.who()))
            else { throw failure("no job named '\(job)' at \(client.baseURL)", .failure) }
            recorded = answer
        case .local(let store, _, let place):
            guard !(try await store.jobRecords(job: job)).isEmpty else {
                throw failure("no job named '\(job)' \(place) (a job that never ran has nothing to \(kind.rawValue))", .failure)
            }
            let asked = JobRequest(id: id, job: job, kind: kind, reason: reason, requestedBy: Self.who() + " via the CLI", requestedAt: Date())
            recorded = try await store.request(asked)
            guard recorded.job == job, recorded.kind == kind else {
                throw failure("request id '\(id)' was used for a \(recorded.kind.rawValue) of '\(recorded.job)'", .failure)
            }
        }
        switch output.output {
        case .json: print(JSONOutput.encode(recorded))
        case .text:
            if let outcome = recorded.outcome {
                print("\(kind.rawValue) of '\(job)' (request \(recorded.id)) was taken up: \(outcome)")
            } else {
                print("\(kind.rawValue) of '\(job)' requested (request \(recorded.id)); the controller's next pass takes it up")
            }
        }
    }

    /// `user@host` of whoever runs the CLI.
    static func who() -> String {
        let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "uid \(getuid())"
        return "\(user)@\(ProcessInfo.processInfo.hostName)"
    }
}
