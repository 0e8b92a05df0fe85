import Foundation
import RunwayModel
import Testing

@testable import RunwayController

/// The tasks a controller started stand in for themselves until a listing shows them, also in
/// a pass that observed its platform before their start returned.
@Suite struct StartedTasksTests {
    func task(_ name: String) -> ObservedTask {
        let owner = TaskOwner(job: name, generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "p")
        return ObservedTask(id: "id-\(name)", name: owner.taskName(), plugin: "local", labels: TaskLabels.labels(controllerID: "c", owner: owner), state: .pending)
    }

    @Test func aTaskStartedAfterTheListingStandsInUntilAListingShowsIt() {
        let started = StartedTasks()
        let now = Date()
        let early = task("early")
        let late = task("late")
        started.started(early, standInUntil: now + 60)
        // A pass observes: the early task is not listed yet, so it stands in.
        let observed = started.complete([], plugin: "local", now: now)
        #expect(observed.map(\.name) == [early.name])
        // The late task's start returns after that observation: it stands in for this pass too.
        started.started(late, standInUntil: now + 60)
        #expect(started.standIns(plugin: "local", notIn: Set(observed.map(\.name)), now: now).map(\.name) == [late.name])
        #expect(started.standIns(plugin: "docker", notIn: [], now: now).isEmpty, "only the platform's own")
        // Listed once, it no longer stands in; nor does one past its time, or one stopped.
        _ = started.complete([late], plugin: "local", now: now)
        #expect(started.standIns(plugin: "local", notIn: [], now: now).map(\.name) == [early.name])
        #expect(started.standIns(plugin: "local", notIn: [], now: now + 61).isEmpty)
        started.stopped(early, leftOutUntil: now + 30)
        #expect(started.standIns(plugin: "local", notIn: [], now: now).isEmpty)
        #expect(started.isStopping(early.name) && !started.isStopping(late.name))
    }
}
