// The local launcher end to end: `runway apply` on N trivial jobs (`true`), beside the floor of
// spawning N `true` processes directly with the same parallelism, and N starts of the lean runner
// (`runway-runner --version`) and of the whole `runway` binary (`runway --version`), all in one run.
//
// - claim latency: per attempt, from the runner's process start (the attempt's startedAt, taken
//   right after posix_spawn returns) to its job being claimed (claimedAt): median and p99, one job
//   at a time (`--parallelism 1`), for the lean runner and for `runway runner` (a profile whose
//   local `command` is the whole binary), and at the run's parallelism.
// - throughput: jobs per second through apply, against processes per second of the floors.
import Foundation
import RunwayModel
import RunwayProcess
import RunwayStore

func localBenchmark(_ options: Options) async throws {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let runway = directory.appendingPathComponent("runway").path
    let lean = directory.appendingPathComponent("runway-runner").path
    for binary in [runway, lean] where !FileManager.default.isExecutableFile(atPath: binary) {
        throw BenchError("build the runway binaries first (swift build -c release): \(binary) is missing")
    }
    let root = try scratchDirectory("local")
    defer { try? FileManager.default.removeItem(atPath: root) }

    let spawnFloor = try timeSpawns(["/bin/true"], count: options.jobs, parallelism: options.parallelism)
    let leanFloor = try timeSpawns([lean, "--version"], count: options.jobs, parallelism: options.parallelism)
    let binaryFloor = try timeSpawns([runway, "--version"], count: options.jobs, parallelism: options.parallelism)
    let standIn = try await timeRunnersAgainstAStandIn(lean: lean, count: options.jobs, parallelism: options.parallelism)
    let serialJobs = min(options.jobs, 200)
    let leanSerial = try await applyRun(root: root + "/lean-1", runway: runway, jobs: serialJobs, parallelism: 1, runnerCommand: nil)
    let fullSerial = try await applyRun(root: root + "/full-1", runway: runway, jobs: serialJobs, parallelism: 1, runnerCommand: [runway, "runner"])
    let parallel = try await applyRun(root: root + "/lean-p", runway: runway, jobs: options.jobs, parallelism: options.parallelism, runnerCommand: nil)

    print("runway-bench local: \(options.jobs) jobs, parallelism \(options.parallelism) (one at a time: \(serialJobs) jobs)")
    for (name, run) in [("lean runway-runner, one at a time", leanSerial), ("runway runner, one at a time", fullSerial),
        ("lean runway-runner, parallel", parallel)] {
        print(String(format: "  task process start -> job claimed, %@:  median %.1f ms, p99 %.1f ms (%d attempts)",
            name, percentile(run.latencies, 0.5), percentile(run.latencies, 0.99), run.latencies.count))
    }
    print(String(format: "  floor: spawn+wait /bin/true:               %6.2f s  %7.1f processes/s", spawnFloor, Double(options.jobs) / spawnFloor))
    print(String(format: "  floor: spawn+wait runway-runner --version: %6.2f s  %7.1f processes/s", leanFloor, Double(options.jobs) / leanFloor))
    print(String(format: "  floor: spawn+wait runway --version:        %6.2f s  %7.1f processes/s", binaryFloor, Double(options.jobs) / binaryFloor))
    print(String(format: "  lean runners, a stand-in runner API:       %6.2f s  %7.1f jobs/s (%.2fx the lean-runner floor's time: no controller does better)",
        standIn, Double(options.jobs) / standIn, standIn / leanFloor))
    print(String(format: "  runway apply, end to end:                  %6.2f s  %7.1f jobs/s (%.1fx the lean-runner floor's time, %.1fx /bin/true's)",
        parallel.seconds, Double(options.jobs) / parallel.seconds, parallel.seconds / leanFloor, parallel.seconds / spawnFloor))
    print(String(format: "  runway apply beside the stand-in:          %.2fx", parallel.seconds / standIn))
}

/// `runway apply` of `jobs` trivial jobs on a local profile (its runner: the lean one, or
/// `runnerCommand`): the wall time and each attempt's claim latency in milliseconds.
func applyRun(root: String, runway: String, jobs: Int, parallelism: Int, runnerCommand: [String]?) async throws
    -> (seconds: Double, latencies: [Double])
{
    try FileManager.default.createDirectory(atPath: root + "/manifests", withIntermediateDirectories: true)
    let config = runnerCommand.map { ", config: {command: [" + $0.map { "\"\($0)\"" }.joined(separator: ", ") + "]}" } ?? ""
    var manifest = """
        apiVersion: runway/v1
        kind: RunnerProfile
        metadata: {name: bench}
        spec: {plugin: local, default: true, startTimeout: 5m\(config)}

        """
    for index in 1...jobs {
        manifest += "---\napiVersion: runway/v1\nkind: Job\nmetadata: {name: job-\(index)}\nspec: {command: [\"true\"]}\n"
    }
    try manifest.write(toFile: root + "/manifests/jobs.yaml", atomically: false, encoding: .utf8)
    let started = ContinuousClock.now
    let status = try runAndWait([runway, "apply", root + "/manifests", "--state-dir", root + "/state", "--listen", "127.0.0.1:0",
        "--parallelism", String(parallelism)], output: root + "/apply.log")
    let seconds = (ContinuousClock.now - started).timeInterval
    guard status == 0 else { throw BenchError("runway apply exited \(status); see \(root)/apply.log") }
    let store = try SQLiteStateStore(directory: root + "/state")
    var latencies: [Double] = []
    for index in 1...jobs {
        for attempt in try await store.attempts(job: "job-\(index)") {
            if let start = attempt.startedAt, let claimed = attempt.claimedAt { latencies.append(claimed.timeIntervalSince(start) * 1000) }
        }
    }
    return (seconds, latencies)
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
/// `environment`: each spawn's whole environment, by its index (nil: ours).
func timeSpawns(_ argv: [String], count: Int, parallelism: Int, environment: ((Int) -> [String: String])? = nil) throws -> Double {
    let started = ContinuousClock.now
    var running: Set<pid_t> = []
    var launched = 0
    while launched < count || !running.isEmpty {
        while launched < count && running.count < parallelism {
            running.insert(try spawn(argv, output: "/dev/null", environment: environment?(launched)))
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

func spawn(_ argv: [String], output: String, environment: [String: String]? = nil) throws -> pid_t {
    var options = ProcessSpawner.Options(argv: argv, environment: environment)
    options.stdout = .file(output, append: false)
    return try ProcessSpawner.spawn(options)
}
