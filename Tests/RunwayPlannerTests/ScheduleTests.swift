import Foundation
import RunwayModel
import RunwayPlanner
import Testing

/// Schedules on an injected clock: one run per tick, at most one missed run after downtime,
/// the concurrency policies, the starting deadline, suspend, and the wake-up time.
struct ScheduleTests {
    /// 2027-01-15 00:00:00 UTC, a Friday.
    static let midnight = Date(timeIntervalSince1970: 1_799_971_200)

    static func hourly(_ policy: JobSchedule.ConcurrencyPolicy = .forbid, deadline: Duration? = nil, suspend: Bool = false) -> Job {
        let schedule = JobSchedule(cron: try! CronSchedule("@hourly"), concurrencyPolicy: policy, startingDeadline: deadline, suspend: suspend)
        return Fixture.runJob("nightly", schedule: schedule)
    }

    @Test func aScheduledJobWaitsForItsTickAndRunsOncePerTick() {
        var world = RunWorld([Self.hourly()], now: Self.midnight.addingTimeInterval(600))
        world.pass()
        #expect(world.started.isEmpty)
        #expect(summary(world.lastPlan) == ["wait nightly: next run at 2027-01-15T01:00:00Z"])
        #expect(Deadlines.next(desired: world.desired, records: Array(world.records.values), heartbeatTimeout: .seconds(30))
            == Self.midnight.addingTimeInterval(3600), "the controller sleeps until the tick")
        world.now = Self.midnight.addingTimeInterval(3600)
        world.pass()
        world.pass()
        #expect(world.started == ["nightly"])
        world.finish("nightly")
        world.now = Self.midnight.addingTimeInterval(3600 + 1800)
        world.pass()
        #expect(world.started == ["nightly"])
        world.now = Self.midnight.addingTimeInterval(7200)
        world.pass()
        #expect(world.started == ["nightly", "nightly/r2"], "run 2 waited for the tick after 01:00")
    }

    @Test func aControllerDownAcrossThreeTicksRunsOnceOnReturn() {
        var world = RunWorld([Self.hourly()], now: Self.midnight.addingTimeInterval(60))
        world.pass()
        world.now = Self.midnight.addingTimeInterval(3 * 3600 + 1200)  // 01:00, 02:00, 03:00 passed while down
        world.pass()
        world.pass()
        #expect(world.started == ["nightly"])
        #expect(world.runs("nightly").first?.scheduledFor == Self.midnight.addingTimeInterval(3 * 3600), "the latest missed tick")
        world.finish("nightly")
        world.pass()
        #expect(world.started == ["nightly"])
        #expect(summary(world.lastPlan) == ["wait nightly: next run at 2027-01-15T04:00:00Z"])
    }

    @Test func aTickMissedByMoreThanTheStartingDeadlineIsSkippedAndRecorded() {
        var world = RunWorld([Self.hourly(deadline: .seconds(300))], now: Self.midnight.addingTimeInterval(60))
        world.pass()
        world.now = Self.midnight.addingTimeInterval(3600 + 600)
        world.pass()
        #expect(world.started.isEmpty)
        #expect(world.lastChanges?.events.map(\.kind) == ["tick-skipped"])
        #expect(world.lastChanges?.events.first?.message.contains("missed by 10m") == true)
        world.now = Self.midnight.addingTimeInterval(7200 + 10)
        world.pass()
        #expect(world.started == ["nightly"])
    }

    @Test(arguments: [JobSchedule.ConcurrencyPolicy.forbid, .replace, .allow])
    func aTickWhileARunIsOpenFollowsTheConcurrencyPolicy(policy: JobSchedule.ConcurrencyPolicy) {
        var world = RunWorld([Self.hourly(policy)], now: Self.midnight.addingTimeInterval(60))
        world.pass()
        world.now = Self.midnight.addingTimeInterval(3600)
        world.pass()
        #expect(world.started == ["nightly"])
        world.now = Self.midnight.addingTimeInterval(7200)
        world.pass()
        switch policy {
        case .forbid:
            #expect(world.started == ["nightly"])
            #expect(world.lastChanges?.events.first?.message.contains("concurrencyPolicy Forbid") == true)
        case .replace:
            #expect(world.started == ["nightly", "nightly/r2"])
            #expect(world.runs("nightly").first?.state == .cancelled)
            #expect(summary(world.lastPlan).contains("stop nightly#1: cancelled"))
        case .allow:
            #expect(world.started == ["nightly", "nightly/r2"])
            #expect(world.runs("nightly").first?.state == .running)
        }
    }

    @Test func suspendPausesTheScheduleAndCancellingARunLeavesItGoing() {
        var world = RunWorld([Self.hourly(suspend: true)], now: Self.midnight.addingTimeInterval(60))
        world.pass()
        world.now = Self.midnight.addingTimeInterval(3600)
        world.pass()
        #expect(world.started.isEmpty && summary(world.lastPlan) == ["wait nightly: schedule suspended (suspend: true)"])
        world.edit(Self.hourly())
        world.pass()
        world.pass([RunWorld.request(.cancel, "nightly")])
        #expect(world.started == ["nightly"] && world.runs("nightly").first?.state == .cancelled)
        world.now = Self.midnight.addingTimeInterval(7200)
        world.pass()
        #expect(world.started == ["nightly", "nightly/r2"], "the schedule goes on")
    }

    @Test func applyStartsNoTickAndAnEditOfTheScheduleStartsNothing() {
        var world = RunWorld([Self.hourly()], now: Self.midnight.addingTimeInterval(60))
        world.pass(ticks: false)
        world.now = Self.midnight.addingTimeInterval(3 * 3600)
        world.pass(ticks: false)
        #expect(world.started.isEmpty)
        let generation = world.desired.jobs["nightly"]!.generation
        world.edit(Fixture.runJob("nightly", schedule: JobSchedule(cron: try! CronSchedule("*/5 * * * *"))))
        #expect(world.desired.jobs["nightly"]!.generation == generation)
        world.pass(ticks: false)
        #expect(world.started.isEmpty)
    }
}
