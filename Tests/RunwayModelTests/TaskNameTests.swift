import RunwayModel
import Testing

@Suite struct TaskNameTests {
    let owner = TaskOwner(job: "build-web", generation: Generation(digest: "0123456789abcdef"), attempt: 2, profile: "k8s")

    @Test func nameIsDeterministic() {
        #expect(owner.taskName() == "runway-build-web-01234567-2")
    }

    @Test func longNamesAreShortenedWithAHashSuffix() {
        let long = TaskOwner(
            job: String(repeating: "a", count: 60), generation: owner.generation, attempt: 1, profile: "p")
        let name = long.taskName(limit: 63)
        #expect(name.count <= 63)
        #expect(name.hasPrefix("runway-aaaa"))
        #expect(name == long.taskName(limit: 63))
        let other = TaskOwner(job: long.job, generation: long.generation, attempt: 2, profile: "p")
        #expect(other.taskName(limit: 63) != name, "attempts must not collide after shortening")
    }

    @Test func labelsRoundTripToTheOwner() {
        let labels = TaskLabels.labels(controllerID: "runway", owner: owner)
        #expect(labels[TaskLabels.managedBy] == "runway")
        #expect(TaskOwner(labels: labels) == owner)
    }

    @Test(arguments: [
        [TaskLabels.job: "x", TaskLabels.generation: "ab", TaskLabels.profile: "p"],
        [TaskLabels.job: "x", TaskLabels.generation: "ab", TaskLabels.attempt: "zero", TaskLabels.profile: "p"],
        [TaskLabels.job: "x", TaskLabels.generation: "ab", TaskLabels.attempt: "0", TaskLabels.profile: "p"],
        [TaskLabels.generation: "ab", TaskLabels.attempt: "1", TaskLabels.profile: "p"],
    ])
    func malformedLabelsHaveNoOwner(labels: [String: String]) {
        #expect(TaskOwner(labels: labels) == nil)
    }
}
