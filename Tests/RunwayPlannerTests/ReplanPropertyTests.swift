import Foundation
import RunwayModel
import RunwayPlanner
import RunwayTestSupport
import Testing

/// Planning again against the state a plan produces must change nothing: no second start for
/// a job, no stop of a task already stopped. Checked over generated worlds.
@Suite struct ReplanPropertyTests {
    struct World {
        var desired: DesiredState
        var observed: [ObservedTask]
        var records: [JobRecord]
    }

    static func generate(seed: UInt64) -> World {
        var random = SplitMix(seed: seed)
        let profiles = (0..<random.int(1...3)).map { index in
            Fixture.profile(
                index == 0 ? "default" : "p\(index)", maxConcurrent: random.chance(60) ? random.int(1...3) : nil,
                startTimeout: .seconds(Int64(random.int(10...60))))
        }
        var jobs: [Job] = []
        var observed: [ObservedTask] = []
        var records: [JobRecord] = []
        for index in 0..<random.int(0...12) {
            let job = Fixture.job(
                "job-\(index)", profile: random.pick(profiles).name, command: ["run", "\(random.int(0...2))"],
                timeout: random.chance(50) ? .seconds(Int64(random.int(5...60))) : nil, retries: random.int(0...2))
            if random.chance(85) { jobs.append(job) }  // the rest were removed from the directory
            let state = random.pick(JobRecord.State.allCases)
            let attempt = state == .pending ? random.int(0...2) : random.int(1...3)
            if random.chance(75) {
                records.append(
                    Fixture.record(
                        for: job, state, attempt: attempt, heldSince: .ago(Double(random.int(0...90))),
                        runningSince: .ago(Double(random.int(0...90))),
                        nextAttemptAt: random.chance(50) ? .later(Double(random.int(1...30))) : .ago(1),
                        updatedAt: .ago(Double(random.int(0...100)))))
            }
            for _ in 0..<random.int(0...2) {
                let old = Generation(digest: "00000000000000\(random.int(10...99))")
                var task = Fixture.task(
                    job.name, generation: random.chance(80) ? job.generation : old, attempt: random.int(1...3),
                    profile: job.profile, state: random.pick([.pending, .running, .exited]))
                // Names are deterministic and unique on a platform: one task per attempt at most.
                guard !observed.contains(where: { $0.name == task.name }) else { continue }
                task.id += "-\(observed.count)"
                observed.append(task)
            }
        }
        if random.chance(30) {
            observed.append(Fixture.task("stray", generation: Generation(digest: "ffffffffffffffff")))
        }
        return World(desired: Fixture.desired(profiles, jobs), observed: observed, records: records)
    }

    /// The controller's settlement: records updated from what is observed.
    static func settled(_ world: World) -> World {
        var next = world
        let changes = Settlement().settle(
            desired: world.desired, observed: world.observed, records: world.records, now: Fixture.now, jitter: { 0.5 })
        next.records = replacing(next.records, with: changes)
        return next
    }

    static func replacing(_ records: [JobRecord], with changes: [JobRecord]) -> [JobRecord] {
        let changed = Set(changes.map(\.key))
        return records.filter { !changed.contains($0.key) } + changes
    }

    /// A perfect executor: a start creates the task and holds the job; a stop removes the task
    /// and settles its attempt; then the controller settles what it observes.
    static func apply(_ plan: Plan, to world: World) -> World {
        var next = world
        for stop in plan.stops {
            next.observed.removeAll { $0.id == stop.task.id }
            guard let owner = stop.task.owner else { continue }
            let record = next.records.first { $0.key == JobKey(job: owner.job, generation: owner.generation) }
            if let changed = Settlement().afterStop(stop, record: record, desired: world.desired, now: Fixture.now, jitter: 0.5) {
                next.records = replacing(next.records, with: [changed])
            }
        }
        for start in plan.starts {
            let job = world.desired.jobs[start.job]!
            next.observed.append(Fixture.task(for: job, attempt: start.attempt, state: .pending))
            let record = next.records.first { $0.key == JobKey(job: job.name, generation: job.generation) }
                ?? Lifecycle.queued(job, now: Fixture.now)
            next.records = replacing(next.records, with: [Lifecycle.held(record, attempt: start.attempt, now: Fixture.now)])
        }
        return settled(next)
    }

    @Test(arguments: 0..<400)
    func replanningAfterApplyingChangesNothing(seed: Int) {
        let world = Self.settled(Self.generate(seed: UInt64(seed)))
        let planner = Planner()
        let first = planner.plan(desired: world.desired, observed: world.observed, records: world.records, now: Fixture.now)
        let after = Self.apply(first, to: world)
        let second = planner.plan(desired: after.desired, observed: after.observed, records: after.records, now: Fixture.now)
        #expect(second.changesNothing, "seed \(seed): first \(summary(first)), second \(summary(second))")
        // A job held back by its profile's limit is still held back: no slot was freed by magic.
        let limited = { (plan: Plan) in
            Set(plan.waits.filter { if case .maxConcurrent = $0.reason { true } else { false } }.map(\.job))
        }
        #expect(limited(first).isSubset(of: limited(second)), "seed \(seed)")
        // And no profile ends up over its limit.
        for (name, profile) in after.desired.profiles {
            guard let limit = profile.maxConcurrent else { continue }
            let started = first.starts.filter { $0.profile == name }.count
            let live = after.observed.filter { $0.owner?.profile == name && $0.state != .exited }.count
            #expect(started == 0 || live <= limit, "seed \(seed): profile \(name) has \(live) live, limit \(limit)")
        }
    }

    @Test func plansAreDeterministicWhateverTheInputOrder() {
        for seed in 0..<50 {
            let world = Self.generate(seed: UInt64(seed))
            let planner = Planner()
            let a = planner.plan(desired: world.desired, observed: world.observed, records: world.records, now: Fixture.now)
            let b = planner.plan(
                desired: world.desired, observed: world.observed.reversed(), records: world.records.reversed(), now: Fixture.now)
            #expect(a == b, "seed \(seed)")
        }
    }
}
