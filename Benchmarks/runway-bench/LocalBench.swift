// The local launcher end to end: `runway apply` on N trivial jobs (`true`), beside the floor of
// spawning N `true` processes directly with the same parallelism, and N starts of the `runway`
// binary itself (`runway --version`), all in one run.
//
// - claim latency: per attempt, from the runner's process start (the attempt's startedAt, taken
//   right after posix_spawn returns) to its job being claimed (claimedAt): median and p99.
// - throughput: jobs per second through apply, against processes per second of the floors.
import Foundation
import RunwayModel
import RunwayProcess
import RunwayStore

func localBenchmark(_ options: Options) async throws {
    let runway = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("runway").path
    guard FileManager.default.isExecutableFile(atPath: runway) else {
        throw BenchError("build the runway binary first (swift build -c release): \(runway) is missing")
    }
    let root = try scratchDirectory("local")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var manifest = """
        apiVersion: runway/v1
        kind: RunnerProfile
        metadata: {name: bench}
        spec: {plugin: local, default: true, startTimeout: 5m}

        """
    for index in 1...options.jobs {
        manifest += "---\napiVersion: runway/v1\nkind: Job\nmetadata: {name: job-\(index)}\nspec: {command: [\"true\"]}\n"
    }
    try manifest.write(toFile: root + "/manifests/jobs.yaml", atomically: false, encoding: .utf8)

    let spawnFloor = try timeSpawns(["/bin/true"], count: options.jobs, parallelism: options.parallelism)
    let binaryFloor = try timeSpawns([runway, "--version"], count: options.jobs, parallelism: options.parallelism)
    let started = ContinuousClock.now
    let status = try runAndWait([runway, "apply", root + "/manifests", "--state-dir", root + "/state", "--listen", "127.0.0.1:0",
        "--parallelism", String(options.parallelism)], output: root + "/apply.log")
    let applySeconds = (ContinuousClock.now - started).timeInterval
    guard status == 0 else { throw BenchError("runway apply exited \(status); see its output above") }

    let store = try SQLiteStateStore(directory: root + "/state")
    var latencies: [Double] = []
    for index in 1...options.jobs {
        for attempt in try await store.attempts(job: "job-\(index)") {
            if let start = attempt.startedAt, let claimed = attempt.claimedAt {
                latencies.append(claimed.timeIntervalSince(start) * 1000)
            }
        }
    }

    print("runway-bench local: \(options.jobs) jobs, parallelism \(options.parallelism)")
    print(String(format: "  task process start -> job claimed:  median %.1f ms, p99 %.1f ms (%d attempts)",
        percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.count))
    print(String(format: "  floor: spawn+wait /bin/true:        %6.2f s  %7.1f processes/s", spawnFloor, Double(options.jobs) / spawnFloor))
    print(String(format: "  floor: spawn+wait runway --version: %6.2f s  %7.1f processes/s", binaryFloor, Double(options.jobs) / binaryFloor))
    print(String(format: "  runway apply, end to end:           %6.2f s  %7.1f jobs/s (%.1fx the /bin/true floor's time, %.1fx the runway-binary floor's)",
        applySeconds, Double(options.jobs) / applySeconds, applySeconds / spawnFloor, applySeconds / binaryFloor))
}

/// A fresh temporary directory for one benchmark, with an empty `manifests/` in it.
func scratchDirectory(_ name: String) throws -> String {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("runway-bench-\(name)-\(getpid())").path
    try? FileManager.default.removeItem(atPath: root)
    try FileManager.default.createDirectory(atPath: root + "/manifests", withIntermediateDirectories: true)
    return root
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Spawns `argv` `count` times, `parallelism` at a time, waiting for each; returns seconds.
func timeSpawns(_ argv: [String], count: Int, parallelism: Int) throws -> Double {
    let started = ContinuousClock.now
    var running: Set<pid_t> = []
    var launched = 0
    while launched < count || !running.isEmpty {
        while launched < count && running.count < parallelism {
            running.insert(try spawn(argv, output: "/dev/null"))
            launched += 1
        }
        var status: Int32 = 0
        let pid = waitpid(-1, &status, 0)
        if pid > 0 { running.remove(pid) }
    }
    return (ContinuousClock.now - started).timeInterval
}

func runAndWait(_ argv: [String], output: String) throws -> Int32 {
    ProcessSpawner.wait(try spawn(argv, output: output))?.code ?? -1
}

func spawn(_ argv: [String], output: String) throws -> pid_t {
    var options = ProcessSpawner.Options(argv: argv)
    options.stdout = .file(output, append: false)
    return try ProcessSpawner.spawn(options)
}
