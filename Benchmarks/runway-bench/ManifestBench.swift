// The manifest loader and the planner, each beside its floor in the same run.
//
// - load: ManifestLoader over N generated manifest files, beside the floor of reading the same
//   files and parsing them with plain libyaml (yaml_parser_load), nothing else.
// - plan: Planner over N jobs and N observed tasks, and over N/10 of each, to show the cost
//   per item stays flat (linear).
import CYAML
import Foundation
import RunwayManifests
import RunwayModel
import RunwayPlanner

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Runs `body` `runs` times after one warm-up and returns the median wall time in milliseconds.
func measure(runs: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        times.append(elapsed.timeInterval * 1e3)
    }
    return median(times)
}

func makeManifests(count: Int) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runway-bench-\(getpid())").path
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory + "/jobs", withIntermediateDirectories: true)
    try """
        apiVersion: runway/v1
        kind: RunnerProfile
        metadata: { name: bench }
        spec: { plugin: local, default: true, maxConcurrent: 100000 }
        """.write(toFile: directory + "/profile.yaml", atomically: false, encoding: .utf8)
    for index in 1..<count {
        try """
            apiVersion: runway/v1
            kind: Job
            metadata:
              name: job-\(index)
              labels: { team: bench }
            spec:
              command: [sh, -c, "echo job \(index)"]
              environment: { INDEX: "\(index)" }
              timeout: 10m
              retries: 2
            """.write(toFile: directory + "/jobs/job-\(index).yaml", atomically: false, encoding: .utf8)
    }
    return directory
}

/// The same manifests in HCL, in a directory of their own.
func makeHCLManifests(count: Int) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runway-bench-hcl-\(getpid())").path
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory + "/jobs", withIntermediateDirectories: true)
    try """
        runner_profile "bench" {
          plugin         = "local"
          default        = true
          max_concurrent = 100000
        }
        """.write(toFile: directory + "/profile.hcl", atomically: false, encoding: .utf8)
    for index in 1..<count {
        try """
            job "job-\(index)" {
              labels      = { team = "bench" }
              command     = ["sh", "-c", "echo job \(index)"]
              environment = { INDEX = "\(index)" }
              timeout     = "10m"
              retries     = 2
            }
            """.write(toFile: directory + "/jobs/job-\(index).hcl", atomically: false, encoding: .utf8)
    }
    return directory
}

/// The floor: read every file and parse it with libyaml's document API, keeping nothing.
func plainLibYAML(_ paths: [String]) -> Int {
    var documents = 0
    for path in paths {
        guard let data = FileManager.default.contents(atPath: path) else { continue }
        data.withUnsafeBytes { raw in
            var parser = yaml_parser_t()
            yaml_parser_initialize(&parser)
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, raw.bindMemory(to: UInt8.self).baseAddress, raw.count)
            while true {
                var document = yaml_document_t()
                guard yaml_parser_load(&parser, &document) == 1 else { break }
                defer { yaml_document_delete(&document) }
                guard yaml_document_get_root_node(&document) != nil else { break }
                documents += 1
            }
        }
    }
    return documents
}

/// Observed tasks and records for `jobs`: a quarter running, a quarter finished, a quarter of an
/// old generation, a quarter orphans; records for the first half.
func world(for jobs: [Job], now: Date) -> ([ObservedTask], [JobRecord]) {
    var tasks: [ObservedTask] = []
    var records: [JobRecord] = []
    for (index, job) in jobs.enumerated() {
        let quarter = index % 4
        let generation = quarter == 2 ? Generation(digest: "00000000deadbeef") : job.generation
        let name = quarter == 3 ? "orphan-\(index)" : job.name
        let owner = TaskOwner(job: name, generation: generation, attempt: 1, profile: job.profile)
        tasks.append(
            ObservedTask(
                id: "task-\(index)", name: owner.taskName(), plugin: "local",
                labels: TaskLabels.labels(controllerID: "runway", owner: owner),
                state: quarter == 1 ? .exited : .running, exitCode: quarter == 1 ? 0 : nil))
        if index < jobs.count / 2 {
            records.append(
                JobRecord(
                    job: job.name, generation: job.generation, profile: job.profile,
                    state: quarter == 1 ? .succeeded : .running, attempt: 1, createdAt: now, runningSince: now))
        }
    }
    return (tasks, records)
}

func manifestBenchmark(_ options: Options) throws {
    let directory = try makeManifests(count: options.files)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let paths = [directory + "/profile.yaml"] + (1..<options.files).map { directory + "/jobs/job-\($0).yaml" }

    var documents = 0
    let floorMs = measure(runs: options.runs) { documents = plainLibYAML(paths) }
    var load: ManifestLoad!
    let loadMs = measure(runs: options.runs) { load = ManifestLoader().load(paths: [directory]) }
    precondition(load.isValid && load.desired.jobs.count == options.files - 1 && documents == options.files)
    // Reloads through a kept cache, as the controller does: nothing changed, then one file
    // rewritten before each load. The files settle first (one read within a second of a
    // change is not trusted).
    Thread.sleep(forTimeInterval: 1.1)
    var cache = ManifestCache()
    _ = ManifestLoader().load(paths: [directory], cache: &cache)
    let unchangedMs = measure(runs: options.runs) { load = ManifestLoader().load(paths: [directory], cache: &cache) }
    precondition(load.isValid && load.desired.jobs.count == options.files - 1 && cache.reusedLastLoad == options.files)
    var edit = 0
    let oneChangedMs = measure(runs: options.runs) {
        edit += 1
        try? "apiVersion: runway/v1\nkind: Job\nmetadata: {name: job-1}\nspec: {command: [sh, -c, \"echo \(edit)\"]}\n"
            .write(toFile: directory + "/jobs/job-1.yaml", atomically: false, encoding: .utf8)
        load = ManifestLoader().load(paths: [directory], cache: &cache)
    }
    precondition(load.isValid && load.desired.jobs["job-1"]?.spec.command.last == "echo \(edit)")  // (job-1 differs from here on)
    // The same, the file named by the watcher (the controller under inotify): no walk, no stat.
    // Timed without the write (which fsyncs, as the rows above include).
    var namedTimes: [Double] = []
    for run in 0...options.runs {
        edit += 1
        try? "apiVersion: runway/v1\nkind: Job\nmetadata: {name: job-1}\nspec: {command: [sh, -c, \"echo \(edit)\"]}\n"
            .write(toFile: directory + "/jobs/job-1.yaml", atomically: false, encoding: .utf8)
        let start = ContinuousClock.now
        load = ManifestLoader().load(paths: [directory], cache: &cache, changedFiles: [directory + "/jobs/job-1.yaml"])
        if run > 0 { namedTimes.append((ContinuousClock.now - start).timeInterval * 1e3) }
    }
    let oneNamedMs = median(namedTimes)
    precondition(load.isValid && load.desired.jobs["job-1"]?.spec.command.last == "echo \(edit)" && load.changedJobs == ["job-1"])
    let hclDirectory = try makeHCLManifests(count: options.files)
    defer { try? FileManager.default.removeItem(atPath: hclDirectory) }
    var hclLoad: ManifestLoad!
    let hclMs = measure(runs: options.runs) { hclLoad = ManifestLoader().load(paths: [hclDirectory]) }
    precondition(hclLoad.isValid && hclLoad.desired.jobs.count == options.files - 1)
    precondition(hclLoad.desired.jobs.values.allSatisfy { $0.name == "job-1" || load.desired.jobs[$0.name]?.generation == $0.generation },
        "the HCL and YAML manifests are the same jobs")

    let now = Date()
    let allJobs = load.desired.jobs.values.sorted { $0.name < $1.name }
    let planner = Planner()
    let profiles = load.desired.profiles
    func planTime(_ jobs: [Job]) -> (ms: Double, actions: Int) {
        let desired = DesiredState(profiles: profiles, jobs: Dictionary(uniqueKeysWithValues: jobs.map { ($0.name, $0) }))
        let (tasks, records) = world(for: jobs, now: now)
        var actions = 0
        let ms = measure(runs: options.runs) {
            actions = planner.plan(desired: desired, observed: tasks, records: records, now: now).actions.count
        }
        return (ms, actions)
    }
    let small = planTime(Array(allJobs.prefix(allJobs.count / 10)))
    let large = planTime(allJobs)

    func row(_ name: String, _ ms: Double, _ note: String) {
        print(name.padding(toLength: 44, withPad: " ", startingAt: 0), String(format: "%10.1f ms", ms), " ", note)
    }
    print("runway-bench: \(options.files) files, median of \(options.runs) runs (after one warm-up)")
    row("floor: read + plain libyaml parse", floorMs, "\(documents) documents")
    row("ManifestLoader.load (walk, parse, decode)", loadMs, String(format: "%.2fx the floor", loadMs / floorMs))
    row("reload through the cache, nothing changed", unchangedMs, String(format: "%.2fx the floor, %.2fx the full load", unchangedMs / floorMs, unchangedMs / loadMs))
    row("reload through the cache, one file changed", oneChangedMs, String(format: "%.2fx the floor, %.2fx the full load", oneChangedMs / floorMs, oneChangedMs / loadMs))
    row("reload, one file changed, named by inotify", oneNamedMs, String(format: "%.2fx the floor, %.2fx the full load", oneNamedMs / floorMs, oneNamedMs / loadMs))
    row("the same manifests in HCL", hclMs, String(format: "%.2fx the YAML load, %.2fx the floor; %.0f files/s",
        hclMs / loadMs, hclMs / floorMs, Double(options.files) / (hclMs / 1000)))
    row("plan \(allJobs.count / 10) jobs / \(allJobs.count / 10) tasks", small.ms, "\(small.actions) actions")
    row("plan \(allJobs.count) jobs / \(allJobs.count) tasks", large.ms,
        String(format: "\(large.actions) actions; %.2fx the per-item cost of the small plan",
            (large.ms / Double(allJobs.count)) / (small.ms / Double(allJobs.count / 10))))

}
