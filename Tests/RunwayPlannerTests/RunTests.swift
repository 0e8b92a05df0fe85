import Foundation
import RunwayModel
import RunwayPlanner
import Testing

/// Runs: reruns and cancels as requests taken up by the run queue, the `rerun` field, and
/// dependencies, played out pass by pass on a fixed clock.
struct RunTests {
    @Test func aRerunRunsTheCurrentGenerationOnceMoreAndItsIdIsTakenUpOnce() throws {
        var world = RunWorld([Fixture.runJob("build")])
        world.runToEnd()
        #expect(world.started == ["build"])
        let rerun = RunWorld.request(.rerun, "build")
        world.pass([rerun])
        let handled = try #require(world.lastChanges?.handled.first)
        #expect(handled.outcome == "run 2 queued" && handled.handledAt == world.now)
        #expect(world.started == ["build", "build/r2"], "attempts count from 1 again: \(world.lastPlan.starts)")
        #expect(world.lastPlan.starts.first?.attempt == 1 && world.lastPlan.starts.first?.reason.code == "new-run")
        world.finish("build")
        // The store keeps a taken-up request out of `openRequests`; given again, it is skipped.
        world.pass([handled])
        world.runToEnd()
        #expect(world.started == ["build", "build/r2"])
        #expect(world.runs("build").map(\.state) == [.succeeded, .succeeded], "earlier runs stay in the records")
        #expect(world.runs("build")[1].origin == "rerun by alice@host: because")
    }

    @Test func aRerunOfARunningJobWaitsForTheRunningOne() {
        var world = RunWorld([Fixture.runJob("build")])
        world.pass()
        world.pass([RunWorld.request(.rerun, "build")])
        #expect(world.started == ["build"])
        #expect(summary(world.lastPlan) == ["wait build: run 1 of this job is still open; this run starts after it ends"])
        world.finish("build")
        world.pass()
        #expect(world.started == ["build", "build/r2"])
    }

    @Test func cancelEndsTheOpenRunWithNoRetryAndStopsItsTask() throws {
        var world = RunWorld([Fixture.job("build", retries: 3)])
        world.pass()
        world.pass([RunWorld.request(.cancel, "build")])
        let run = try #require(world.runs("build").first)
        #expect(run.state == .cancelled && run.lastReason == "cancelled by alice@host: because")
        #expect(world.lastChanges?.handled.first?.outcome == "cancelled run 1")
        #expect(summary(world.lastPlan) == ["stop build#1: cancelled"])
        world.records[run.key] = run  // the runner's "stopped by SIGTERM" lands on a final record: nothing changes
        world.pass()
        #expect(world.started == ["build"], "no retry")
        // It stays cancelled until rerun.
        world.pass([RunWorld.request(.rerun, "build", id: "r2")])
        #expect(world.started == ["build", "build/r2"])
    }

    @Test func cancelOfAWaitingJobEndsItWithoutStartingAnything() {
        var world = RunWorld([Fixture.runJob("a"), Fixture.runJob("b", after: ["a"])])
        world.pass()
        world.pass([RunWorld.request(.cancel, "b")])
        #expect(world.runs("b").map(\.state) == [.cancelled])
        world.runToEnd()
        #expect(world.started == ["a"])
        let nothing = RunWorld.request(.cancel, "a", id: "again")
        world.pass([nothing])
        #expect(world.lastChanges?.handled.first?.outcome == "nothing to cancel: run 1 is succeeded")
    }

    @Test func changingTheRerunFieldAddsARunOfTheSameGeneration() {
        var world = RunWorld([Fixture.runJob("build", rerun: "one")])
        world.runToEnd()
        let generation = world.desired.jobs["build"]!.generation
        world.edit(Fixture.runJob("build", rerun: "two"))
        #expect(world.desired.jobs["build"]!.generation == generation, "the field is not part of the generation")
        world.runToEnd()
        world.runToEnd()
        #expect(world.started == ["build", "build/r2"])
        #expect(world.runs("build")[1].origin == "spec.rerun changed to 'two'")
    }

    @Test func aChainRunsInOrderAndAnEditOfTheFirstRunsAllThreeAgainInOrder() {
        var world = RunWorld([Fixture.runJob("deploy", after: ["test"]), Fixture.runJob("test", after: ["build"]), Fixture.runJob("build")])
        world.pass()
        #expect(summary(world.lastPlan) == [
            "start build#1 on default: new", "wait deploy: waits for test (pending)", "wait test: waits for build (pending)",
        ])
        world.pass()
        #expect(summary(world.lastPlan) == ["wait deploy: waits for test (pending)", "wait test: waits for build (running, attempt 1)"])
        world.runToEnd()
        #expect(world.started == ["build", "test", "deploy"])
        world.edit(Fixture.runJob("build", command: ["make", "v2"]))
        world.runToEnd()
        #expect(world.started == ["build", "test", "deploy", "build", "test/r2", "deploy/r2"])
        #expect(world.runs("deploy")[1].origin?.hasPrefix("a dependency ran again") == true)
        // A rerun of the middle one runs only what comes after it.
        world.pass([RunWorld.request(.rerun, "test", id: "t")])
        world.runToEnd()
        #expect(world.started.suffix(2) == ["test/r3", "deploy/r3"])
    }

    @Test func aFailedDependencyBlocksItsDependentsUntilItSucceeds() {
        var world = RunWorld([Fixture.runJob("build"), Fixture.runJob("deploy", after: ["build"])])
        world.pass()
        world.finish("build", exitCode: 2)
        world.pass()
        #expect(summary(world.lastPlan) == ["wait deploy: blocked: dependency build failed: attempt 1: exit code 2"])
        world.pass([RunWorld.request(.rerun, "build")])
        world.pass()
        #expect(summary(world.lastPlan) == ["wait deploy: waits for build (running, attempt 1)"])
        world.runToEnd()
        #expect(world.started == ["build", "build/r2", "deploy"])
    }

    @Test func finishedRunsPastTheHistoryLimitAreCompactedOnce() {
        var job = Fixture.runJob("build")
        job.spec.historyLimit = 2
        var world = RunWorld([job])
        world.runToEnd()
        for id in ["a", "b", "c"] {
            world.now = world.now.addingTimeInterval(60)
            world.pass([RunWorld.request(.rerun, "build", id: id, at: world.now)])
            world.finish("build")
        }
        world.now = world.now.addingTimeInterval(60)
        world.pass()
        #expect(world.lastChanges?.compact.map(\.run) == [1, 2], "the two oldest of four finished runs")
        for key in world.lastChanges?.compact ?? [] { world.records[key]?.compacted = true }
        world.pass()
        #expect(world.lastChanges?.compact.isEmpty == true, "never twice")
        #expect(world.started == ["build", "build/r2", "build/r3", "build/r4"], "a compacted run never runs again")
    }

    /// Past the retention, a finished run is compacted whatever its job's history limit, also
    /// the run of a job no longer in the manifests; a run still open, or that ended within the
    /// retention, is not.
    @Test func finishedRunsPastTheRetentionAreCompactedAlsoOfRemovedJobs() {
        var world = RunWorld([Fixture.runJob("build"), Fixture.runJob("gone"), Fixture.runJob("long")])
        world.retention = .seconds(3600)
        world.pass()
        world.finish("build")
        world.finish("gone")
        world.desired.jobs["gone"] = nil  // removed from the directory; its record stays
        world.now = world.now.addingTimeInterval(1800)
        world.pass()
        #expect(world.lastChanges?.compact.isEmpty == true, "within the retention")
        world.now = world.now.addingTimeInterval(1801)
        world.pass()
        #expect(world.lastChanges?.compact.map(\.job) == ["build", "gone"], "\(String(describing: world.lastChanges?.compact))")
        for key in world.lastChanges?.compact ?? [] { world.records[key]?.compacted = true }
        world.pass()
        #expect(world.lastChanges?.compact.isEmpty == true, "never twice; the long job still runs")
        #expect(world.started == ["build", "gone", "long"], "a compacted run never runs again")
        world.retention = nil
        world.finish("long")
        world.now = world.now.addingTimeInterval(86_400 * 365)
        world.pass()
        #expect(world.lastChanges?.compact.isEmpty == true, "without a retention the history limit alone decides")
    }
}
