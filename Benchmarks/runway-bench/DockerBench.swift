// The Docker launcher end to end: `runway apply` on N trivial jobs (`true`), one container at a
// time (maxConcurrent 1), beside N runs of `docker run --rm IMAGE true` with the docker CLI, in
// one run on the same engine.
//
// - runway: per attempt, from the controller's start request (requestedAt) to the runner's claim
//   of its job (claimedAt): create + start the container, boot the runner, connect back.
// - peer: per run, the whole `docker run --rm` (create, start, wait for exit, remove).
import Foundation
import RunwayStore

func dockerBenchmark(_ options: Options) async throws {
    let runway = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("runway").path
    guard let host = ProcessInfo.processInfo.environment["DOCKER_HOST"], !host.isEmpty else {
        throw BenchError("set DOCKER_HOST to the engine to measure (scripts/docker-engine start DIR prints one)")
    }
    let image = ProcessInfo.processInfo.environment["RUNWAY_RUNNER_IMAGE"] ?? "runway-runner:dev"
    let root = try scratchDirectory("docker")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var manifest = """
        apiVersion: runway/v1
        kind: RunnerProfile
        metadata: {name: bench}
        spec:
          plugin: docker
          default: true
          image: \(image)
          maxConcurrent: 1
          startTimeout: 5m
          config: {network: host, pull: never, grace: 2s}

        """
    for index in 1...options.containers {
        manifest += "---\napiVersion: runway/v1\nkind: Job\nmetadata: {name: job-\(index)}\nspec: {command: [\"true\"]}\n"
    }
    try manifest.write(toFile: root + "/manifests/jobs.yaml", atomically: false, encoding: .utf8)

    // The peer first and last, so neither side alone gets a warm or a cold engine.
    let half = options.containers / 2
    var peer = try timeDockerRuns(image: image, count: half)
    let status = try runAndWait(
        [runway, "apply", root + "/manifests", "--state-dir", root + "/state", "--listen", "127.0.0.1:0"], output: root + "/apply.log")
    guard status == 0 else { throw BenchError("runway apply exited \(status); see \(root)/apply.log") }
    peer += try timeDockerRuns(image: image, count: options.containers - half)

    let store = try SQLiteStateStore(directory: root + "/state")
    var latencies: [Double] = []
    for index in 1...options.containers {
        for attempt in try await store.attempts(job: "job-\(index)") {
            if let claimed = attempt.claimedAt { latencies.append(claimed.timeIntervalSince(attempt.requestedAt) * 1000) }
        }
    }
    let runwayMedian = median(latencies)
    let peerMedian = median(peer)
    print("runway-bench docker: \(options.containers) containers each way, one at a time, image \(image)")
    print(String(format: "  runway: start request -> runner claimed its job: median %.1f ms (p90 %.1f ms, %d attempts)",
        runwayMedian, percentile(latencies, 0.9), latencies.count))
    print(String(format: "  peer:   docker run --rm IMAGE true, whole run:    median %.1f ms (p90 %.1f ms)",
        peerMedian, percentile(peer, 0.9)))
    print(String(format: "  ratio:  %.2fx the peer's median", runwayMedian / peerMedian))
}

/// Times `count` runs of `docker run --rm --network host --entrypoint /bin/true IMAGE`, in ms.
func timeDockerRuns(image: String, count: Int) throws -> [Double] {
    var times: [Double] = []
    for _ in 0..<count {
        let started = ContinuousClock.now
        let status = try runAndWait(["/usr/bin/env", "docker", "run", "--rm", "--network", "host", "--entrypoint", "/bin/true", image], output: "/dev/null")
        guard status == 0 else { throw BenchError("docker run exited \(status)") }
        times.append((ContinuousClock.now - started).timeInterval * 1000)
    }
    return times
}

/// The value below which a fraction `p` of `values` lie (nearest rank).
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}
