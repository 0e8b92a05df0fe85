// The runner's own share of a job, with a controller that costs nothing but its HTTP answers:
// lean runners claim a trivial job (`true`) from a stand-in runner API that answers every call
// at once from memory and records nothing, run it, and report. `runway apply` can be no faster
// than this on the same machine, whatever the controller does: its time beside the lean-runner
// floor bounds the end-to-end ratio any controller can reach here.
import Foundation
import Hummingbird
import RunwayModel
import RunwayTestSupport
import Synchronization

/// Seconds for `count` lean runners, `parallelism` at a time, each claiming, running and
/// reporting one `true` against the stand-in; throws unless every runner reported.
func timeRunnersAgainstAStandIn(lean: String, count: Int, parallelism: Int) async throws -> Double {
    let reported = Atomic<Int>(0)
    let router = Router()
    router.post("/v1/runner/claim") { request, _ -> Response in
        let attempt = request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) } ?? "unknown"
        let job = ClaimedJob(
            attemptID: attempt, job: attempt, generation: "01234567", attempt: 1, command: ["true"], workingDirectory: nil,
            environment: [:], heartbeatIntervalMilliseconds: 5000, maxLogChunkBytes: 1 << 20)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(job))))
    }
    router.post("/v1/runner/attempts/:id/complete") { _, _ -> Response in
        reported.add(1, ordering: .relaxed)
        return Response(status: .noContent)
    }
    router.post("/v1/runner/attempts/:id/:call") { _, _ -> Response in Response(status: .noContent) }
    let seconds = try await LoopbackServer.run(router.buildResponder()) { url in
        // The spawns wait in waitpid: on a thread of their own, not one of the two the server's
        // handlers run on.
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Double, any Error>) in
            Thread {
                done.resume(with: Result {
                    try timeSpawns([lean], count: count, parallelism: parallelism) { index in
                        ProcessInfo.processInfo.environment.merging([
                            TaskEnvironment.serverURL: url, TaskEnvironment.token: "attempt-\(index)", TaskEnvironment.taskID: "task-\(index)",
                        ]) { $1 }
                    }
                })
            }.start()
        }
    }
    guard reported.load(ordering: .relaxed) == count else {
        throw BenchError("\(reported.load(ordering: .relaxed)) of \(count) runners reported to the stand-in runner API")
    }
    return seconds
}
