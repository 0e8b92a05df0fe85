// The planner alone, for counting instructions: `runway-bench plan --jobs N` loads N generated
// job manifests and plans them once against N observed tasks (world(for:now:)). Its planning
// is the function `runPlanOnce`; `scripts/plan-instructions` counts only that function's
// instructions with valgrind's callgrind for 1,000 and 10,000 jobs and prints the per-item
// ratio (wall-clock time on two busy cores is too noisy for this ratio).
import Foundation
import RunwayManifests
import RunwayModel
import RunwayPlanner

func planBenchmark(_ options: Options) throws {
    let directory = try makeManifests(count: options.jobs + 1)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let load = ManifestLoader().load(paths: [directory])
    precondition(load.isValid && load.desired.jobs.count == options.jobs)
    let now = Date()
    let jobs = load.desired.jobs.values.sorted { $0.name < $1.name }
    let (tasks, records) = world(for: jobs, now: now)
    let actions = runPlanOnce(desired: load.desired, observed: tasks, records: records, now: now)
    print("runway-bench plan: \(options.jobs) jobs, \(tasks.count) tasks, \(records.count) records: \(actions) actions")
}

/// One plan; kept out of line so callgrind can count it alone (`--toggle-collect`).
@inline(never)
func runPlanOnce(desired: DesiredState, observed: [ObservedTask], records: [JobRecord], now: Date) -> Int {
    Planner().plan(desired: desired, observed: observed, records: records, now: now).actions.count
}
