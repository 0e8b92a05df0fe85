// The runner API's heartbeats beside its floor: `runway controller` (release) with one running
// local job; wrk (16 connections, 2 threads, 10 s) posts that runner's heartbeats with its task
// token, then asks `/healthz` of the same server, the HTTP floor. Heartbeats of a running runner
// are noted in memory and written in batches, so they should come near the floor. Needs `wrk`.
import Foundation
import RunwayProcess
import RunwayStore

func heartbeatBenchmark(_ options: Options) async throws {
    let runway = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("runway").path
    let root = try scratchDirectory("heartbeats")
    defer { try? FileManager.default.removeItem(atPath: root) }
    try """
        apiVersion: runway/v1
        kind: RunnerProfile
        metadata: {name: bench}
        spec: {plugin: local, default: true}
        ---
        apiVersion: runway/v1
        kind: Job
        metadata: {name: beating}
        spec: {command: [sleep, "600"]}

        """.write(toFile: root + "/manifests/jobs.yaml", atomically: true, encoding: .utf8)
    var spawnOptions = ProcessSpawner.Options(argv: [runway, "controller", root + "/manifests", "--state-dir", root + "/state", "--listen", "127.0.0.1:0"])
    spawnOptions.stdout = .file(root + "/controller.log", append: false)
    let controller = try ProcessSpawner.spawn(spawnOptions)
    var runner: pid_t?
    defer {
        if let runner { kill(-runner, SIGKILL) }  // the controller leaves its tasks running when told to stop
        kill(controller, SIGTERM)
        _ = ProcessSpawner.wait(controller)
    }
    // The port it serves on, then the running attempt and its runner's token.
    var port: String?
    var attemptID: String?
    var token: String?
    for _ in 0..<600 where token == nil {
        try await Task.sleep(for: .milliseconds(100))
        let log = (try? String(contentsOfFile: root + "/controller.log", encoding: .utf8)) ?? ""
        port = port ?? log.split(separator: "\n").first { $0.contains("runner API on ") }.flatMap { $0.split(separator: ":").last.map(String.init) }
        guard let store = try? SQLiteStateStore(directory: root + "/state"),
            let attempt = try? await store.attempts(job: "beating").first, attempt.state == .running
        else { continue }
        attemptID = attempt.id
        (runner, token) = runnerToken(attemptID: attempt.id)
    }
    guard let port, let attemptID, let token else { throw BenchError("the job did not start running; see \(root)/controller.log") }
    let base = "http://127.0.0.1:\(port)"
    let script = root + "/heartbeat.lua"
    try "wrk.method = \"POST\"\nwrk.headers[\"Authorization\"] = \"Bearer \(token)\"\n".write(toFile: script, atomically: true, encoding: .utf8)
    let beats = try wrk(["-s", script, base + "/v1/runner/attempts/\(attemptID)/heartbeat"], root: root)
    let floor = try wrk([base + "/healthz"], root: root)
    // The runner's own client opens a connection per call (`Connection: close`): the same, so.
    let closing = ["-H", "Connection: close"]
    let beatsClosing = try wrk(closing + ["-s", script, base + "/v1/runner/attempts/\(attemptID)/heartbeat"], root: root)
    let floorClosing = try wrk(closing + [base + "/healthz"], root: root)
    print("runway-bench heartbeats: one running job, wrk -t2 -c16 -d10s on loopback")
    print(String(format: "  heartbeats of its runner:  %9.0f requests/s (%d not 2xx)", beats.rate, beats.failed))
    print(String(format: "  floor: /healthz:           %9.0f requests/s (%d not 2xx)", floor.rate, floor.failed))
    print(String(format: "  heartbeats / floor:        %9.2f", beats.rate / floor.rate))
    print("  a connection per request, as the runner's client makes them:")
    print(String(format: "  heartbeats of its runner:  %9.0f requests/s (%d not 2xx)", beatsClosing.rate, beatsClosing.failed))
    print(String(format: "  floor: /healthz:           %9.0f requests/s (%d not 2xx)", floorClosing.rate, floorClosing.failed))
    print(String(format: "  heartbeats / floor:        %9.2f", beatsClosing.rate / floorClosing.rate))
}

/// The runner process of `attemptID` (its task's process group leader) and its task token.
func runnerToken(attemptID: String) -> (pid_t?, String?) {
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(entry), let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
        let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard variables.contains("RUNWAY_TASK_ID=\(attemptID)"), getpgid(pid) == pid else { continue }
        return (pid, variables.first { $0.hasPrefix("RUNWAY_TASK_TOKEN=") }.map { String($0.dropFirst("RUNWAY_TASK_TOKEN=".count)) })
    }
    return (nil, nil)
}

/// Requests per second and answers that were not 2xx, from one wrk run.
func wrk(_ arguments: [String], root: String) throws -> (rate: Double, failed: Int) {
    let output = root + "/wrk.txt"
    let status = try runAndWait(["/usr/bin/wrk", "-t2", "-c16", "-d10s"] + arguments, output: output)
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    guard status == 0, let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
        let rate = Double(line.split(separator: " ").last ?? "")
    else { throw BenchError("wrk failed (install Debian's wrk): \(text)") }
    let failed = text.split(separator: "\n").first { $0.contains("Non-2xx or 3xx responses:") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    return (rate, failed)
}
