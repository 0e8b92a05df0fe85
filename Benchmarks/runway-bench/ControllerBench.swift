// The controller, as a pod runs it:
// - reaction: from a manifest file written to its task started (the attempt's startedAt), over
//   N changes one after another, beside the floor of the same writes seen by a bare inotify
//   watcher (ManifestWatcher) in this process;
// - idle cost: CPU time and resident memory of `runway controller` over a quiet window with
//   1,000 finished jobs in its store, beside the same controller with none.
import Foundation
import RunwayController
import RunwayModel
import RunwayProcess
import RunwayStore

func controllerBenchmark(_ options: Options) async throws {
    let runway = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("runway").path
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("runway-bench-controller-\(getpid())").path
    try? FileManager.default.removeItem(atPath: root)
    defer { try? FileManager.default.removeItem(atPath: root) }

    // Floor: how fast a bare inotify watcher sees a write (ManifestWatcher debounces 100 ms).
    let floor = try await inotifyFloor(directory: root + "/floor", changes: options.changes)

    // The controller reacting to the same kind of writes, to a started task.
    let manifests = root + "/manifests"
    let state = root + "/state"
    try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
    try "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: bench}\nspec: {plugin: local, default: true}\n"
        .write(toFile: manifests + "/profile.yaml", atomically: true, encoding: .utf8)
    var spawnOptions = ProcessSpawner.Options(argv: [runway, "controller", manifests, "--state-dir", state, "--listen", "127.0.0.1:0"])
    spawnOptions.stdout = .file(root + "/controller.log", append: false)
    let controller = try ProcessSpawner.spawn(spawnOptions)
    defer { kill(controller, SIGTERM); _ = ProcessSpawner.wait(controller) }
    try await Task.sleep(for: .seconds(1))
    let store = try SQLiteStateStore(directory: state)
    let reaction = try await newJobsStarted(options.changes, in: manifests, prefix: "change", store: store, spacing: .zero)
    print("runway-bench controller: \(options.changes) manifest changes, one after another")
    print(String(format: "  file written -> task started:        median %6.1f ms, p99 %6.1f ms", percentile(reaction, 0.5), percentile(reaction, 0.99)))
    print(String(format: "  floor: file written -> inotify seen:  median %6.1f ms, p99 %6.1f ms (includes the watcher's 100 ms debounce)",
        percentile(floor, 0.5), percentile(floor, 0.99)))

    // Idle cost, with the jobs above plus enough more to make 1,000 finished ones.
    for index in options.changes..<1000 {
        try "apiVersion: runway/v1\nkind: Job\nmetadata: {name: change-\(index)}\nspec: {command: [\"true\"]}\n"
            .write(toFile: manifests + "/change-\(index).yaml", atomically: true, encoding: .utf8)
    }
    // Every job ended (one that failed does not make the benchmark wait for ever; it is counted).
    while try await store.jobRecords().filter(\.state.isTerminal).count < 1000 { try await Task.sleep(for: .milliseconds(200)) }
    let failed = try await store.jobRecords().filter { $0.state != .succeeded }.count
    if failed > 0 { print("  (\(failed) of the 1,000 jobs did not succeed; see \(root)/controller.log)") }
    // Quiet means every task was stopped too (the stops follow the reports).
    func tasksLeft() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: state + "/tasks/local")) ?? []).filter { $0.hasSuffix(".json") }.count
    }
    while tasksLeft() > 0 { try await Task.sleep(for: .milliseconds(200)) }
    try await Task.sleep(for: .seconds(2))
    let busy = try await idle(pid: controller, window: .seconds(options.idleSeconds))

    let emptyState = root + "/empty-state"
    let emptyManifests = root + "/empty"
    try FileManager.default.createDirectory(atPath: emptyManifests, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: manifests + "/profile.yaml", toPath: emptyManifests + "/profile.yaml")
    var emptyOptions = ProcessSpawner.Options(argv: [runway, "controller", emptyManifests, "--state-dir", emptyState, "--listen", "127.0.0.1:0"])
    emptyOptions.stdout = .file(root + "/empty.log", append: false)
    let empty = try ProcessSpawner.spawn(emptyOptions)
    defer { kill(empty, SIGTERM); _ = ProcessSpawner.wait(empty) }
    try await Task.sleep(for: .seconds(2))
    let baseline = try await idle(pid: empty, window: .seconds(options.idleSeconds))
    print("  idle over \(options.idleSeconds) s (a resync every 30 s):")
    print(String(format: "    with 1,000 finished jobs: CPU %.3f s (%.2f%% of a core), RSS %.1f MiB (anonymous %.1f, file-backed %.1f)",
        busy.cpu, busy.cpu / Double(options.idleSeconds) * 100, busy.rss, busy.anon, busy.file))
    print(String(format: "    with none (floor):        CPU %.3f s (%.2f%% of a core), RSS %.1f MiB (anonymous %.1f, file-backed %.1f)",
        baseline.cpu, baseline.cpu / Double(options.idleSeconds) * 100, baseline.rss, baseline.anon, baseline.file))
}

/// CPU seconds used by `pid` over `window`, and its resident memory at the end (MiB): all of it,
/// and of that the anonymous part (heap, stacks) and the file-backed part (the pages of the
/// binary and its libraries that the process has touched).
func idle(pid: pid_t, window: Duration) async throws -> (cpu: Double, rss: Double, anon: Double, file: Double) {
    func cpuSeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)  // utime + stime
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
    let before = cpuSeconds()
    try await Task.sleep(for: window)
    let after = cpuSeconds()
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    func mebibytes(_ field: String) -> Double {
        let kib = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
            .flatMap { $0.split(whereSeparator: \.isWhitespace).dropFirst().first }.flatMap { Double($0) } ?? 0
        return kib / 1024
    }
    return (after - before, mebibytes("VmRSS"), mebibytes("RssAnon"), mebibytes("RssFile"))
}
