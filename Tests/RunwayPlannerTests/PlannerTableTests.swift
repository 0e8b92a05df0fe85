import Foundation
import RunwayModel
import RunwayPlanner
import Testing

/// One fixture per action and reason: (desired, observed, records) -> the exact list of actions.
@Suite struct PlannerTableTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var desired: DesiredState
        var observed: [ObservedTask] = []
        var records: [JobRecord] = []
        var expected: [String]
        var testDescription: String { name }
    }

    static let build = Fixture.job("build", timeout: .seconds(600), retries: 2)
    static let buildV2 = Fixture.job("build", command: ["make", "v2"], timeout: .seconds(600), retries: 2)
    static let test = Fixture.job("test")
    static let base = [Fixture.profile("default")]

    static let cases: [Case] = [
        Case(name: "new job starts its first attempt", desired: Fixture.desired(base, [build]),
            expected: ["start build#1 on default: new"]),
        Case(name: "edited spec starts the new generation and stops the old task",
            desired: Fixture.desired(base, [buildV2]),
            observed: [Fixture.task(for: build, state: .running)],
            records: [Fixture.record(for: build, .running, runningSince: .ago(5), updatedAt: .ago(5))],
            expected: ["stop build#1: superseded", "start build#1 on default: spec-changed"]),
        Case(name: "finished generation does not run again", desired: Fixture.desired(base, [build]),
            records: [Fixture.record(for: build, .succeeded)], expected: []),
        Case(name: "failed attempt waits out its backoff", desired: Fixture.desired(base, [build]),
            records: [Fixture.record(for: build, .pending, attempt: 1, nextAttemptAt: .later(30))],
            expected: ["wait build: backoff 30s"]),
        Case(name: "retry starts once the backoff is over", desired: Fixture.desired(base, [build]),
            records: [Fixture.record(for: build, .pending, attempt: 1, nextAttemptAt: .ago(1))],
            expected: ["start build#2 on default: retry"]),
        Case(name: "held job with its task is left alone", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build, state: .pending)],
            records: [Fixture.record(for: build, .held, heldSince: .ago(10))], expected: []),
        Case(name: "runner that never connects is stopped at startTimeout", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build, state: .running)],
            records: [Fixture.record(for: build, .held, heldSince: .ago(60))],
            expected: ["stop build#1: start-timeout"]),
        Case(name: "job running past its timeout is stopped", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build)],
            records: [Fixture.record(for: build, .running, runningSince: .ago(600), lastHeartbeatAt: .ago(1))],
            expected: ["stop build#1: timed-out"]),
        Case(name: "job within its timeout keeps running", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build)],
            records: [Fixture.record(for: build, .running, runningSince: .ago(599), lastHeartbeatAt: .ago(2))], expected: []),
        Case(name: "runner that stopped heartbeating is stopped", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build)],
            records: [Fixture.record(for: build, .running, runningSince: .ago(100), lastHeartbeatAt: .ago(30))],
            expected: ["stop build#1: heartbeat-lost"]),
        Case(name: "held attempt whose task is missing is started again under the same name",
            desired: Fixture.desired(base, [build]), records: [Fixture.record(for: build, .held, attempt: 2, heldSince: .ago(5))],
            expected: ["start build#2 on default: resume"]),
        Case(name: "held attempt past its start timeout is not resumed", desired: Fixture.desired(base, [build]),
            records: [Fixture.record(for: build, .held, attempt: 2, heldSince: .ago(60))], expected: []),
        Case(name: "exited task is cleaned up", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build, state: .exited, exitCode: 0)],
            records: [Fixture.record(for: build, .running, runningSince: .ago(5))],
            expected: ["stop build#1: finished"]),
        Case(name: "task of a completed job is cleaned up even if still running", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build)], records: [Fixture.record(for: build, .succeeded)],
            expected: ["stop build#1: finished"]),
        Case(name: "task of an unknown job is an orphan", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: test)], records: [Fixture.record(for: build, .succeeded)],
            expected: ["stop test#1: orphaned"]),
        Case(name: "task of a removed job is stopped", desired: Fixture.desired(base, []),
            observed: [Fixture.task(for: test)], records: [Fixture.record(for: test, .running, runningSince: .ago(1))],
            expected: ["stop test#1: job-removed"]),
        Case(name: "task of an earlier attempt is superseded", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build, attempt: 1), Fixture.task(for: build, attempt: 2, state: .pending)],
            records: [Fixture.record(for: build, .held, attempt: 2, heldSince: .ago(1))],
            expected: ["stop build#1: superseded"]),
        Case(name: "lingering task of a failed attempt is stopped before the retry",
            desired: Fixture.desired(base, [build]), observed: [Fixture.task(for: build, attempt: 1)],
            records: [Fixture.record(for: build, .pending, attempt: 1, nextAttemptAt: .ago(1))],
            expected: ["stop build#1: finished", "start build#2 on default: retry"]),
        Case(name: "task without owner labels is an orphan", desired: Fixture.desired(base, [build]),
            observed: [ObservedTask(id: "x", name: "runway-x", plugin: "local", labels: [TaskLabels.managedBy: "runway"], state: .running)],
            records: [Fixture.record(for: build, .succeeded)], expected: ["stop runway-x: orphaned"]),
        Case(name: "task with no record is adopted, not started twice", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build, state: .pending)], expected: []),
        Case(name: "maxConcurrent holds jobs back", desired: Fixture.desired(
                [Fixture.profile("default", maxConcurrent: 2)],
                [build, test, Fixture.job("a"), Fixture.job("z")]),
            observed: [Fixture.task(for: build)],
            records: [Fixture.record(for: build, .running, runningSince: .ago(1))],
            expected: ["start a#1 on default: new", "wait test: max-concurrent 2/2", "wait z: max-concurrent 2/2"]),
        Case(name: "stopping a task frees its slot", desired: Fixture.desired(
                [Fixture.profile("default", maxConcurrent: 1)], [build, test]),
            observed: [Fixture.task(for: build, state: .exited, exitCode: 0)],
            records: [Fixture.record(for: build, .running, runningSince: .ago(1))],
            expected: ["stop build#1: finished", "start test#1 on default: new"]),
        Case(name: "a cancelled run's live task is stopped as cancelled, and nothing starts", desired: Fixture.desired(base, [build]),
            observed: [Fixture.task(for: build, state: .running)],
            records: [Fixture.record(for: build, .cancelled, runningSince: .ago(5))],
            expected: ["stop build#1: cancelled"]),
        Case(name: "limits are per profile", desired: Fixture.desired(
                [Fixture.profile("default", maxConcurrent: 1), Fixture.profile("other", maxConcurrent: 1)],
                [Fixture.job("a"), Fixture.job("b"), Fixture.job("c", profile: "other")]),
            expected: ["start a#1 on default: new", "start c#1 on other: new", "wait b: max-concurrent 1/1"]),
    ]

    @Test(arguments: cases)
    func plans(_ fixture: Case) {
        let plan = Planner().plan(desired: fixture.desired, observed: fixture.observed, records: fixture.records, now: Fixture.now)
        #expect(summary(plan) == fixture.expected)
    }

    @Test func everyStopReasonIsCovered() {
        var seen = Set<StopReason>()
        for fixture in Self.cases {
            let plan = Planner().plan(desired: fixture.desired, observed: fixture.observed, records: fixture.records, now: Fixture.now)
            seen.formUnion(plan.stops.map(\.reason))
        }
        #expect(seen == Set(StopReason.allCases))
    }

    @Test func startCarriesGenerationAndReasonDetail() throws {
        let plan = Planner().plan(
            desired: Fixture.desired(Self.base, [Self.buildV2]), observed: [],
            records: [Fixture.record(for: Self.build, .failed)], now: Fixture.now)
        let start = try #require(plan.starts.first)
        #expect(start.generation == Self.buildV2.generation)
        #expect(start.reason == .specChanged(previous: Self.build.generation))
        #expect(start.reason.detail == "spec changed since generation \(Self.build.generation.short)")
    }
}
