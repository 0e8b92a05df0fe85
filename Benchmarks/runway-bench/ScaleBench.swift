// One controller at scale: a directory of --jobs N job files (default 100,000, a thousand to a
// folder), all finished but --live L of them (default 1,000) whose `sleep` runs on the local
// launcher. The finished records are seeded through the store API (the generations the loader
// gives the files), so the controller starts with 99,000 finished jobs and starts only the live
// ones. Measured, each beside its floor:
// - a one-file change (a new job file) → its task started, median and p99, beside a bare inotify
//   watcher seeing the same kind of write (its 100 ms debounce included);
// - a resync (the 30 s timer's pass with nothing changed): the manifest load and the reconcile
//   pass, from the controller's own /metrics;
// - resident memory, idle, beside an empty controller's;
// - one live runner's heartbeats per second beside /healthz on the same server (needs wrk);
// - with RUNWAY_TEST_KUBECONFIG, the idle API requests per minute with 10,000 tasks
//   (`kubernetes-watch --tasks 10000`).
import CRunwaySystem
import Foundation
import RunwayController
import RunwayManifests
import RunwayModel
import RunwayProcess
import RunwayStore
import RunwayTestSupport
import Synchronization

func scaleBenchmark(_ options: Options) async throws {
    let runway = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("runway").path
    let total = options.jobsGiven ? options.jobs : 100_000
    let live = min(options.live, total)
    let root = try scratchDirectory("scale")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let manifests = root + "/manifests"
    let state = root + "/state"
    let log = root + "/logs/controller.log"  // not beside the manifest folder, whose parent is watched for a flip
    try FileManager.default.createDirectory(atPath: root + "/logs", withIntermediateDirectories: true)

    // The directory: a profile, and the jobs a thousand to a folder; the live ones come first.
    try "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: bench}\nspec: {plugin: local, default: true, startTimeout: 10m}\n"
        .write(toFile: manifests + "/profile.yaml", atomically: true, encoding: .utf8)
    for index in 0..<total {
        let folder = manifests + "/jobs/\(index / 1000)"
        if index % 1000 == 0 { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let command = index < live ? #"[sleep, "86400"]"# : #"["true"]"#
        try "apiVersion: runway/v1\nkind: Job\nmetadata: {name: job-\(index)}\nspec: {command: \(command)}\n"
            .write(toFile: folder + "/job-\(index).yaml", atomically: false, encoding: .utf8)
    }
    let loadStarted = ContinuousClock.now
    let load = ManifestLoader().load(paths: [manifests])
    let coldLoad = (ContinuousClock.now - loadStarted).timeInterval * 1000
    // What the controller keeps of the directory (its cache and desired state), by the growth
    // of this process's heap (freed pages handed back first).
    runway_release_free_memory()
    let heapBefore = heapInUse()
    var kept = ManifestCache()
    let keptLoad = ManifestLoader().load(paths: [manifests], cache: &kept)
    runway_release_free_memory()
    let manifestHeap = heapInUse() - heapBefore
    guard load.isValid, load.desired.jobs.count == total else { throw BenchError("the generated directory does not load: \(load.diagnostics.prefix(3))") }

    // The finished records, through the store API, in batches.
    do {
        let store = try SQLiteStateStore(directory: state)
        let finishedAt = Date().addingTimeInterval(-3600)
        var batch: [JobRecord] = []
        for index in live..<total {
            let job = load.desired.jobs["job-\(index)"]!
            var record = JobRecord(job: job.name, generation: job.generation, profile: job.profile, state: .succeeded, attempt: 1, createdAt: finishedAt)
            record.exitCode = 0
            batch.append(record)
            if batch.count == 1000 || index == total - 1 {
                try await store.apply(StoreChange(records: batch))
                batch = []
            }
        }
    }

    // The controller; wait for the live jobs to run.
    // `RUNWAY_BENCH_CONTROLLER_WRAPPER` (e.g. `heaptrack -o /tmp/scale`) runs the controller under
    // a profiler; the figures taken of its process (RSS, CPU) are then the wrapper's.
    let wrapper = ProcessInfo.processInfo.environment["RUNWAY_BENCH_CONTROLLER_WRAPPER"]?.split(separator: " ").map(String.init) ?? []
    var spawnOptions = ProcessSpawner.Options(argv: wrapper + [runway, "controller", manifests, "--state-dir", state, "--listen", "127.0.0.1:0"])
    spawnOptions.stdout = .file(log, append: false)
    let started = ContinuousClock.now
    let controller = try ProcessSpawner.spawn(spawnOptions)
    defer {
        stopTasks(root: state)  // the controller leaves its tasks running when told to stop
        kill(controller, SIGTERM)
        _ = ProcessSpawner.wait(controller)
    }
    let store = try SQLiteStateStore(directory: state)
    var running = 0
    while running < live {
        try await Task.sleep(for: .milliseconds(500))
        guard ProcessSpawner.poll(controller) == nil else { throw BenchError("the controller ended; see \(log)") }
        running = try await store.jobRecords().filter { $0.state == .running }.count
    }
    let readyAfter = (ContinuousClock.now - started).timeInterval
    let port = try controllerPort(log: log)
    print("runway-bench scale: \(total) jobs (\(total - live) finished, seeded; \(live) live on the local launcher, running after \(String(format: "%.1f", readyAfter)) s)")
    print(String(format: "  cold load of the directory in this process: %.0f ms", coldLoad))
    let recordsBefore = heapInUse()
    let records = try await store.jobRecords()
    let recordHeap = heapInUse() - recordsBefore
    print(String(format: "  heap kept: the directory's cache and desired state %.1f MiB (%.0f bytes a job); the %d records read %.1f MiB (%.0f bytes each)",
        manifestHeap, manifestHeap * 1_048_576 / Double(total), records.count, recordHeap, recordHeap * 1_048_576 / Double(max(1, records.count))))
    withExtendedLifetime((kept, keptLoad, records)) {}

    // A one-file change → its task started, beside the inotify floor.
    // The new folder is a change the watcher cannot name: the walk it causes ends first.
    try FileManager.default.createDirectory(atPath: manifests + "/changes", withIntermediateDirectories: true)
    try await Task.sleep(for: .seconds(5))
    // One at a time (the controller done with the last change and its job, as the floor's
    // writes are spaced), then in a burst (each written as soon as the last one's task started,
    // so the passes of the last one's job are still running).
    let quiet = try await newJobsStarted(options.changes, in: manifests + "/changes", prefix: "quiet", store: store, spacing: .milliseconds(500))
    let beforeChanges = try metricSums(port: port, root: root)
    let burst = try await newJobsStarted(options.changes, in: manifests + "/changes", prefix: "change", store: store, spacing: .zero)
    let afterChanges = try metricSums(port: port, root: root)
    let floor = try await inotifyFloor(directory: root + "/floor", changes: options.changes)
    print(String(format: "  floor: a file written -> inotify seen: median %6.1f ms, p99 %6.1f ms (the watcher's 100 ms debounce included)",
        percentile(floor, 0.5), percentile(floor, 0.99)))
    for (label, reaction) in [("one at a time", quiet), ("in a burst", burst)] {
        print(String(format: "  a new job file -> its task started, %@: median %6.1f ms, p99 %6.1f ms; beyond the floor: median %6.1f ms, p99 %6.1f ms",
            label, percentile(reaction, 0.5), percentile(reaction, 0.99),
            percentile(reaction, 0.5) - percentile(floor, 0.5), percentile(reaction, 0.99) - percentile(floor, 0.99)))
    }

    func average(_ name: String, _ before: [String: Double], _ after: [String: Double]) -> (ms: Double, count: Int) {
        let count = Int((after[name + "_count"] ?? 0) - (before[name + "_count"] ?? 0))
        let sum = (after[name + "_sum"] ?? 0) - (before[name + "_sum"] ?? 0)
        return (count == 0 ? .nan : sum / Double(count) * 1000, count)
    }
    let changeLoads = average("runway_manifest_load_duration_seconds", beforeChanges, afterChanges)
    let changePasses = average("runway_reconcile_duration_seconds", beforeChanges, afterChanges)
    print(String(format: "  meanwhile: manifest load %.1f ms (%d loads), reconcile pass %.1f ms (%d passes), on average",
        changeLoads.ms, changeLoads.count, changePasses.ms, changePasses.count))

    // Idle: the resyncs' loads and passes, and resident memory at the end.
    try await Task.sleep(for: .seconds(2))
    let before = try metricSums(port: port, root: root)
    let idleWindow = try await idle(pid: controller, window: .seconds(options.idleSeconds))
    let after = try metricSums(port: port, root: root)
    let loads = average("runway_manifest_load_duration_seconds", before, after)
    let passes = average("runway_reconcile_duration_seconds", before, after)
    print(String(format: "  a resync, idle over %d s: manifest load %.1f ms (%d loads) + reconcile pass %.1f ms (%d passes) = %.1f ms",
        options.idleSeconds, loads.ms, loads.count, passes.ms, passes.count, loads.ms + passes.ms))

    // Heartbeats of one live runner, beside /healthz on the same server.
    let attempt = try await store.attempts(job: "job-0").first { $0.state == .running }
    if let attempt, case (_, let token?) = runnerToken(attemptID: attempt.id),
        FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk")
    {
        let base = "http://127.0.0.1:\(port)"
        let script = root + "/heartbeat.lua"
        try "wrk.method = \"POST\"\nwrk.headers[\"Authorization\"] = \"Bearer \(token)\"\n".write(toFile: script, atomically: true, encoding: .utf8)
        let beats = try wrk(["-s", script, base + "/v1/runner/attempts/\(attempt.id)/heartbeat"], root: root)
        let healthz = try wrk([base + "/healthz"], root: root)
        print(String(format: "  heartbeats of one runner (wrk -t2 -c16 -d10s): %.0f/s beside /healthz %.0f/s (%.2f; %d and %d not 2xx)",
            beats.rate, healthz.rate, beats.rate / healthz.rate, beats.failed, healthz.failed))
    } else {
        print("  heartbeats: skipped (needs wrk and a running job-0)")
    }

    // The empty controller, for the memory figure.
    let emptyRoot = try scratchDirectory("scale-empty")
    defer { try? FileManager.default.removeItem(atPath: emptyRoot) }
    try FileManager.default.copyItem(atPath: manifests + "/profile.yaml", toPath: emptyRoot + "/manifests/profile.yaml")
    var emptyOptions = ProcessSpawner.Options(argv: [runway, "controller", emptyRoot + "/manifests", "--state-dir", emptyRoot + "/state", "--listen", "127.0.0.1:0"])
    emptyOptions.stdout = .file(emptyRoot + "/controller.log", append: false)
    let empty = try ProcessSpawner.spawn(emptyOptions)
    defer { kill(empty, SIGTERM); _ = ProcessSpawner.wait(empty) }
    try await Task.sleep(for: .seconds(2))
    let emptyWindow = try await idle(pid: empty, window: .seconds(min(options.idleSeconds, 30)))
    print(String(format: "  resident memory, idle: %.1f MiB (anonymous %.1f, file-backed %.1f; %.2f%% of a core) beside %.1f MiB for an empty controller (anonymous %.1f, file-backed %.1f; %.2f%%)",
        idleWindow.rss, idleWindow.anon, idleWindow.file, idleWindow.cpu / Double(options.idleSeconds) * 100, emptyWindow.rss,
        emptyWindow.anon, emptyWindow.file, emptyWindow.cpu / Double(min(options.idleSeconds, 30)) * 100))

    if TestKubernetes.kubeconfig != nil {
        var watchOptions = options
        watchOptions.tasks = 10_000
        try await kubernetesWatchBenchmark(watchOptions)
    } else {
        print("  API requests per idle minute with 10,000 tasks: set RUNWAY_TEST_KUBECONFIG (kubernetes-watch --tasks 10000)")
    }
}

/// Writes `count` new job files into `directory`, one after another, and times each until its
/// task started (the attempt's startedAt), in milliseconds, sorted.
func newJobsStarted(_ count: Int, in directory: String, prefix: String, store: SQLiteStateStore, spacing: Duration) async throws -> [Double] {
    var reaction: [Double] = []
    for index in 0..<count {
        try await Task.sleep(for: spacing)
        let name = "\(prefix)-\(index)"
        let written = Date()
        try "apiVersion: runway/v1\nkind: Job\nmetadata: {name: \(name)}\nspec: {command: [\"true\"]}\n"
            .write(toFile: directory + "/\(name).yaml", atomically: true, encoding: .utf8)
        var startedAt: Date?
        while startedAt == nil {
            startedAt = try await store.attempts(job: name).first?.startedAt
            if startedAt == nil { try await Task.sleep(for: .milliseconds(2)) }
        }
        reaction.append(startedAt!.timeIntervalSince(written) * 1000)
    }
    return reaction.sorted()
}

/// How soon a bare inotify watcher (ManifestWatcher, which debounces 100 ms) sees each of
/// `changes` writes into `directory`, in milliseconds, sorted.
func inotifyFloor(directory: String, changes: Int) async throws -> [Double] {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let seen = Mutex<ContinuousClock.Instant?>(nil)
    let watcher = ManifestWatcher(roots: [directory], mode: .inotify) { _ in seen.withLock { $0 = .now } }
    watcher.start()
    defer { watcher.stop() }
    try await Task.sleep(for: .milliseconds(300))
    var floor: [Double] = []
    for index in 0..<changes {
        seen.withLock { $0 = nil }
        let written = ContinuousClock.now
        try "x: \(index)\n".write(toFile: directory + "/f\(index).yaml", atomically: false, encoding: .utf8)
        while seen.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(1)) }
        floor.append((seen.withLock { $0! } - written).timeInterval * 1000)
        try await Task.sleep(for: .milliseconds(150))
    }
    return floor.sorted()
}

/// Bytes of this process's heap in use (glibc's mallinfo2), in MiB.
func heapInUse() -> Double {
    Double(runway_heap_in_use()) / 1_048_576
}

/// The port `runway controller` serves on, from its log.
func controllerPort(log: String) throws -> String {
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    guard let port = text.split(separator: "\n").first(where: { $0.contains("runner API on ") }).flatMap({ $0.split(separator: ":").last })
    else { throw BenchError("no port in \(log)") }
    return String(port)
}

/// Every `_sum` and `_count` sample of the controller's /metrics, by name.
func metricSums(port: String, root: String) throws -> [String: Double] {
    let output = root + "/metrics.txt"
    guard try runAndWait(["/usr/bin/curl", "-sf", "http://127.0.0.1:\(port)/metrics"], output: output) == 0 else {
        throw BenchError("could not read /metrics")
    }
    var sums: [String: Double] = [:]
    for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
        let parts = line.split(separator: " ")
        guard parts.count == 2, parts[0].hasSuffix("_sum") || parts[0].hasSuffix("_count"), let value = Double(parts[1]) else { continue }
        sums[String(parts[0]), default: 0] += value
    }
    return sums
}

/// Kills every local task left under the state directory (the runner groups of the live jobs).
func stopTasks(root state: String) {
    let folder = state + "/tasks/local"
    for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where file.hasSuffix(".json") {
        // JSON lines, the newest last; any line with a pid names the task's process group.
        let lines = (FileManager.default.contents(atPath: folder + "/" + file) ?? Data()).split(separator: UInt8(ascii: "\n"))
        for line in lines.reversed() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], let pid = object["pid"] as? Int, pid > 0
            else { continue }
            kill(-pid_t(pid), SIGKILL)
            break
        }
    }
}
