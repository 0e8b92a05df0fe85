import Foundation
import RunwayModel
import RunwayPlanner
import RunwayTestSupport
import Testing

/// A pass over the focus (what changed plus what is live) decides what a pass over every job
/// decides: the same runs queued, the same records settled, the same plan. Checked over
/// generated histories: jobs with dependencies run, finish, fail and retry, manifests are
/// edited, added and removed between passes, and each pass is planned both ways.
@Suite struct FocusPropertyTests {
    struct World {
        var desired: DesiredState
        var records: [JobRecord] = []
        var observed: [ObservedTask] = []
        var now = Fixture.now
        /// What changed since the last pass: manifests (by the loader) and records (by the book).
        var changedJobs = Set<String>()
        var changedRecords = Set<String>()
        var graph: Focus.Graph

        init(desired: DesiredState) {
            self.desired = desired
            graph = Focus.Graph(desired: desired)
        }

        mutating func put(_ changes: [JobRecord]) {
            for record in changes {
                records.removeAll { $0.key == record.key }
                records.append(record)
                changedRecords.insert(record.job)
            }
        }
    }

    /// One job of the generated directory; `after` only names earlier jobs (no cycles).
    static func job(_ index: Int, random: inout SplitMix, profiles: [String]) -> Job {
        var spec = JobSpec(
            name: "job-\(index)", command: ["run", "\(random.int(0...3))"], retries: random.int(0...1), location: Fixture.location)
        if index > 0, random.chance(35) {
            spec.after = Array(Set((0..<random.int(1...2)).map { _ in "job-\(random.int(0...(index - 1)))" })).sorted()
        }
        return Job(spec: spec, profile: random.pick(profiles))
    }

    /// What a pass decides about `world`, over the focus or over every job.
    struct Decisions: Equatable {
        var queued: Set<JobRecord>
        var settled: Set<JobRecord>
        var plan: Plan
    }

    static func decide(_ world: World, focused: Bool) -> (Decisions, records: [JobRecord]) {
        var desired = world.desired
        var records = world.records
        if focused {
            let open = Set(world.records.filter { !$0.state.isTerminal }.map(\.job))
            let focus = Focus.jobs(
                changed: world.changedJobs.union(world.changedRecords), open: open, observed: world.observed, requests: [],
                graph: world.graph)
            desired = Focus.restrict(desired, to: focus)
            records = records.filter { focus.contains($0.job) }
        }
        let queued = RunQueue().queue(desired: desired, records: records, now: world.now).records
        records = ReplanPropertyTests.replacing(records, with: queued)
        let settled = Settlement().settle(desired: desired, observed: world.observed, records: records, now: world.now, jitter: { 0.5 })
        records = ReplanPropertyTests.replacing(records, with: settled)
        let plan = Planner(queuesRuns: false).plan(desired: desired, observed: world.observed, records: records, now: world.now)
        return (Decisions(queued: Set(queued), settled: Set(settled), plan: plan), queued + settled)
    }

    /// Carries out a plan the way the controller does (starts hold their run, stops end their
    /// task), then lets runners claim, finish and fail at random, and edits the directory.
    static func advance(_ world: inout World, plan: Plan, random: inout SplitMix, profiles: [String], jobCount: inout Int) {
        for stop in plan.stops {
            world.observed.removeAll { $0.id == stop.task.id }
            guard let owner = stop.task.owner else { continue }
            let record = world.records.first { $0.key == JobKey(job: owner.job, generation: owner.generation) }
            if let changed = Settlement().afterStop(stop, record: record, desired: world.desired, now: world.now, jitter: 0.5) {
                world.put([changed])
            }
        }
        for start in plan.starts {
            let job = world.desired.jobs[start.job]!
            world.observed.append(Fixture.task(for: job, attempt: start.attempt, state: .pending))
            if let record = world.records.first(where: { $0.key == start.key }) {
                var held = Lifecycle.held(record, attempt: start.attempt, now: world.now)
                if start.upstream != nil { held.upstream = start.upstream }  // as the controller records it
                world.put([held])
            }
        }
        world.changedJobs = []
        world.now = world.now.addingTimeInterval(Double(random.int(1...5)))
        // Runners: a held run's runner claims it; a running one ends, well or badly.
        for record in world.records where !record.state.isTerminal {
            guard let job = world.desired.jobs[record.job], job.generation == record.generation, random.chance(60) else { continue }
            let task = world.observed.firstIndex {
                $0.owner?.job == record.job && $0.owner?.generation == record.generation && $0.owner?.attempt == record.attempt
            }
            switch record.state {
            case .held:
                world.put([Lifecycle.running(record, now: world.now)])
                if let task { world.observed[task].state = .running }
            case .running:
                let code: Int32 = random.chance(70) ? 0 : 1
                world.put([Lifecycle.completed(
                    record, retries: job.spec.retries, report: CompletionReport(exitCode: code), now: world.now, backoff: Backoff(), jitter: 0.5)])
                if let task {
                    world.observed[task].state = .exited
                    world.observed[task].exitCode = code
                }
            default: break
            }
        }
        // The directory: a job edited, removed or added.
        for _ in 0..<random.int(0...2) {
            let name = "job-\(random.int(0...(jobCount - 1)))"
            switch random.int(0...2) {
            case 0 where world.desired.jobs[name] != nil:
                var spec = world.desired.jobs[name]!.spec
                spec.command = ["run", "\(random.int(4...99))"]
                world.desired.jobs[name] = Job(spec: spec, profile: world.desired.jobs[name]!.profile)
            case 1:
                world.desired.jobs[name] = nil
            default:
                let job = job(jobCount, random: &random, profiles: profiles)
                world.desired.jobs[job.name] = job
                jobCount += 1
                world.changedJobs.insert(job.name)
            }
            world.changedJobs.insert(name)
        }
        world.graph.update(desired: world.desired, changed: world.changedJobs)
    }

    @Test(arguments: 0..<200)
    func aFocusedPassDecidesWhatAFullPassDoes(seed: Int) {
        var random = SplitMix(seed: UInt64(seed) &+ 0x5eed)
        let profiles = ["default", "small"]
        let desired = Fixture.desired(
            [Fixture.profile("default"), Fixture.profile("small", maxConcurrent: 2)], [])
        var world = World(desired: desired)
        var jobCount = random.int(3...14)
        for index in 0..<jobCount { world.desired.jobs["job-\(index)"] = Self.job(index, random: &random, profiles: profiles) }
        world.graph = Focus.Graph(desired: world.desired)
        world.changedJobs = Set(world.desired.jobs.keys)
        var focusedJobs = 0
        for step in 0..<12 {
            let (full, changes) = Self.decide(world, focused: false)
            let (focused, _) = Self.decide(world, focused: true)
            #expect(focused == full, "seed \(seed), pass \(step): focused \(summary(focused.plan)) full \(summary(full.plan))")
            guard focused == full else { return }
            focusedJobs += full.plan.actions.count
            world.changedRecords = []
            world.put(changes)
            Self.advance(&world, plan: full.plan, random: &random, profiles: profiles, jobCount: &jobCount)
        }
        #expect(focusedJobs > 0, "seed \(seed): the history decided nothing")
    }
}
