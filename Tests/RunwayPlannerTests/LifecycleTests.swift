import Foundation
import RunwayModel
import RunwayPlanner
import Testing

@Suite struct LifecycleTests {
    let job = Fixture.job("build", timeout: .seconds(60), retries: 1)
    let profiles = [Fixture.profile("default", startTimeout: .seconds(30))]

    @Test func backoffDoublesIsCappedAndJittered() {
        let backoff = Backoff(base: .seconds(2), cap: .seconds(10))
        #expect(backoff.delay(afterAttempt: 1, jitter: 0) == 1)
        #expect(backoff.delay(afterAttempt: 2, jitter: 0) == 2)
        #expect(backoff.delay(afterAttempt: 3, jitter: 0.5) == 6)
        #expect(backoff.delay(afterAttempt: 9, jitter: 0.999) < 10)
        #expect(backoff.delay(afterAttempt: 9, jitter: 0) == 5)
    }

    /// A resume of a held attempt keeps the time it was first held, so its start timeout is
    /// judged from there; a new attempt starts a new clock.
    @Test func aResumeKeepsTheStartTimeoutClock() {
        let first = Lifecycle.held(Lifecycle.queued(job, now: Fixture.now), attempt: 1, now: Fixture.now)
        let resumed = Lifecycle.held(first, attempt: 1, now: Fixture.now.addingTimeInterval(20))
        #expect(resumed.heldSince == Fixture.now)
        let next = Lifecycle.held(first, attempt: 2, now: Fixture.now.addingTimeInterval(40))
        #expect(next.heldSince == Fixture.now.addingTimeInterval(40))
    }

    /// No runner is judged silent, or late to connect, for time when no controller could answer
    /// it (before this one began to lead, or started): a takeover does not fail every attempt.
    @Test func runnersAreJudgedOnlyForTimeTheyCouldReachTheController() {
        let desired = Fixture.desired(profiles, [job])
        let running = Fixture.record(for: job, .running, runningSince: .ago(40))
        let held = Fixture.record(for: job, .held, heldSince: .ago(40))
        for (record, reason) in [(running, StopReason.heartbeatLost), (held, .startTimeout)] {
            let observed = [Fixture.task(for: job, state: record.state == .held ? .pending : .running)]
            let judged = Planner(heartbeatTimeout: .seconds(30)).plan(desired: desired, observed: observed, records: [record], now: Fixture.now)
            #expect(judged.stops.map(\.reason) == [reason])
            let fresh = Planner(heartbeatTimeout: .seconds(30), reachableSince: .ago(20))
                .plan(desired: desired, observed: observed, records: [record], now: Fixture.now)
            #expect(fresh.stops.isEmpty, "\(fresh.stops)")
        }
        let late = Settlement(reachableSince: .ago(20)).settle(desired: desired, observed: [], records: [held], now: Fixture.now) { 0 }
        #expect(late.isEmpty, "a held attempt without a task waits its start timeout from then too")
        #expect(Deadlines.next(desired: desired, records: [running], heartbeatTimeout: .seconds(30), reachableSince: .ago(20)) == .later(10))
    }

    @Test func completionSucceedsRetriesThenFails() {
        var record = Lifecycle.held(Lifecycle.queued(job, now: Fixture.now), attempt: 1, now: Fixture.now)
        record = Lifecycle.running(record, now: Fixture.now)
        let ok = Lifecycle.completed(record, retries: 1, report: .init(exitCode: 0), now: Fixture.now, backoff: Backoff(), jitter: 0)
        #expect(ok.state == .succeeded)
        #expect(ok.exitCode == 0)

        let retry = Lifecycle.completed(record, retries: 1, report: .init(exitCode: 3), now: Fixture.now, backoff: Backoff(), jitter: 0)
        #expect(retry.state == .pending)
        #expect(retry.exitCode == 3)
        #expect(retry.lastReason == "attempt 1: exit code 3")
        #expect(retry.nextAttemptAt == Fixture.now.addingTimeInterval(1))

        let second = Lifecycle.running(Lifecycle.held(retry, attempt: 2, now: Fixture.now), now: Fixture.now)
        let final = Lifecycle.completed(second, retries: 1, report: .init(exitCode: 3), now: Fixture.now, backoff: Backoff(), jitter: 0)
        #expect(final.state == .failed)
        #expect(final.attempt == 2)
    }

    @Test func settlementEndsAttemptsTheWorldContradicts() {
        let removed = Fixture.job("removed")
        let old = Fixture.job("build", command: ["old"])
        let lost = Fixture.job("lost", retries: 0)
        let waiting = Fixture.job("waiting")
        let desired = Fixture.desired(profiles, [job, lost, waiting])
        let records = [
            Fixture.record(for: removed, .running, runningSince: .ago(1)),
            Fixture.record(for: old, .held, heldSince: .ago(1)),
            Fixture.record(for: lost, .running, runningSince: .ago(1)),
            Fixture.record(for: waiting, .held, heldSince: .ago(31)),
            Fixture.record(for: job, .held, heldSince: .ago(31)),
        ]
        let changes = Settlement().settle(
            desired: desired, observed: [Fixture.task(for: job)], records: records, now: Fixture.now, jitter: { 0 })
        let byJob = Dictionary(changes.map { ("\($0.job)@\($0.generation.short)", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(changes.count == 4)
        #expect(byJob["removed@\(removed.generation.short)"]?.state == .cancelled)
        #expect(byJob["build@\(old.generation.short)"]?.lastReason == "superseded by generation \(job.generation.short)")
        #expect(byJob["lost@\(lost.generation.short)"]?.state == .failed)
        #expect(byJob["lost@\(lost.generation.short)"]?.lastReason == "attempt 1: task-lost (its task disappeared)")
        #expect(byJob["waiting@\(waiting.generation.short)"]?.lastReason
            == "attempt 1: start-timeout (runner did not connect within 30s)")
    }

    /// A runner may connect before its task's start has returned: the attempt runs, no listing
    /// shows its task yet, and it is not lost while the start is still being carried out; nor is
    /// a task still starting adopted (its start records its own attempt).
    @Test func anAttemptWhoseStartIsStillInFlightIsNotLost() {
        let quick = Fixture.job("quick", retries: 0)
        let adopted = Fixture.job("adopted")
        let desired = Fixture.desired(profiles, [quick, adopted])
        let records = [Fixture.record(for: quick, .running, runningSince: .ago(1))]
        let starting = [Fixture.task(for: quick), Fixture.task(for: adopted)]
        let settle = { (starting: [ObservedTask]) in
            Settlement().settle(desired: desired, observed: [], starting: starting, records: records, now: Fixture.now, jitter: { 0 })
        }
        #expect(settle(starting).isEmpty, "neither lost nor adopted")
        #expect(settle([]).map(\.lastReason) == ["attempt 1: task-lost (its task disappeared)"], "lost once its start is no longer in flight")
    }

    @Test(arguments: [
        (StopReason.startTimeout, JobRecord.State.held, "attempt 1: start-timeout (runner did not connect within 30s)"),
        (.timedOut, .running, "attempt 1: timed-out (ran longer than its 1m timeout)"),
        (.heartbeatLost, .running, "attempt 1: heartbeat-lost (no word from its runner)"),
        (.finished, .running, "attempt 1: task-lost (its task exited with code 137 before its runner reported)"),
        (.jobRemoved, .running, "job removed from the manifests"),
    ])
    func stopsSettleTheirAttempt(reason: StopReason, state: JobRecord.State, expected: String) throws {
        let desired = Fixture.desired(profiles, [job])
        let record = Fixture.record(for: job, state, heldSince: .ago(40), runningSince: .ago(40))
        let stop = PlanAction.Stop(task: Fixture.task(for: job, state: .exited, exitCode: 137), reason: reason)
        let settled = try #require(Settlement().afterStop(stop, record: record, desired: desired, now: Fixture.now, jitter: 0))
        #expect(settled.lastReason == expected)
        #expect(settled.state == (reason == .jobRemoved ? .cancelled : .pending))
    }

    @Test func stopOfAnOlderAttemptLeavesTheRecordAlone() {
        let record = Fixture.record(for: job, .held, attempt: 2, heldSince: .ago(1))
        let stop = PlanAction.Stop(task: Fixture.task(for: job, attempt: 1), reason: .superseded)
        #expect(Settlement().afterStop(stop, record: record, desired: Fixture.desired(profiles, [job]), now: Fixture.now, jitter: 0) == nil)
    }
}
