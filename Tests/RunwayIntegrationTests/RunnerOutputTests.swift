import Foundation
import Hummingbird
import RunwayModel
import RunwayTestSupport
import Synchronization
import Testing

/// What the runner reports when part of its job's output never reached the controller: the job's
/// result stands, and its report says from which byte the output is missing and why, so that a
/// short log is never silent.
@Suite(.leavesNoProcesses) struct RunnerOutputTests {
    /// A stand-in controller that hands out one job, takes its first log chunk, refuses every
    /// later one (409, as a controller does for a chunk out of order), and keeps the report.
    @Test func aRefusedLogChunkIsInTheReport() async throws {
        struct Seen { var chunks: [Int: String] = [:]; var report: CompletionReport? }
        let seen = Mutex(Seen())
        let job = ClaimedJob(
            attemptID: "a-1", job: "short", generation: "0123456789abcdef", attempt: 1,
            command: ["/bin/sh", "-c", "echo begin; sleep 0.5; echo end"], workingDirectory: nil, environment: [:],
            heartbeatIntervalMilliseconds: 60_000, maxLogChunkBytes: 1024)
        let controller = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let body = Data(buffer: try await request.collectBody(upTo: 1 << 16))
            let path = request.uri.path
            if path == "/v1/runner/claim" {
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(job))))
            }
            if path.hasSuffix("/logs"), let seq = request.uri.queryParameters.get("seq", as: Int.self) {
                guard seq == 0 else { return Response(status: .conflict, body: .init(byteBuffer: ByteBuffer(string: "log chunk \(seq) out of order"))) }
                seen.withLock { $0.chunks[seq] = String(decoding: body, as: UTF8.self) }
                return Response(status: .ok)
            }
            if path.hasSuffix("/complete") {
                let report = try JSONDecoder().decode(CompletionReport.self, from: body)
                seen.withLock { $0.report = report }
            }
            return Response(status: .ok)
        }
        try await LoopbackServer.run(controller) { base in
            let runner = try await RunningCommand.shell(
                "env RUNWAY_SERVER_URL='\(base)' RUNWAY_TASK_TOKEN=t RUNWAY_TASK_ID=a-1 '\(LeanRunnerTests.lean)' runner 2>&1",
                directory: Repository.root.path)
            let (chunks, report) = seen.withLock { ($0.chunks, $0.report) }
            #expect(runner.status == 0, "\(runner.stdout)")
            #expect(chunks == [0: "begin\n"])
            #expect(report?.exitCode == 0, "the job's result stands")
            let missing = report?.outputIncomplete ?? ""
            #expect(missing.hasPrefix("output from byte 6 (chunk 1) on was not shipped: refused: HTTP 409"), "\(missing)")
        }
    }
}
