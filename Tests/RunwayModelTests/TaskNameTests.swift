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

    /// A job name at the 63-character limit gives a valid Kubernetes name (a DNS-1123 label)
    /// for every run and attempt, each distinct.
    @Test func aLongJobNameGivesValidDistinctNamesAcrossRuns() {
        let job = "a" + String(repeating: "b-", count: 30) + "z"
        #expect(job.count == 62)
        var names = Set<String>()
        for run in 1...50 {
            for attempt in 1...5 {
                let name = TaskOwner(job: job, generation: owner.generation, run: run, attempt: attempt, profile: "p").taskName(limit: 63)
                #expect(name.count <= 63 && name.first!.isLetter && (name.last!.isLetter || name.last!.isNumber))
                #expect(name.allSatisfy { ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "-" }, "\(name)")
                names.insert(name)
            }
        }
        #expect(names.count == 250)
        let short = TaskOwner(job: "build", generation: owner.generation, run: 3, attempt: 2, profile: "p")
        #expect(short.taskName() == "runway-build-01234567-r3-2")
    }

    @Test func aTaskWithoutARunLabelIsRunOne() {
        var labels = TaskLabels.labels(controllerID: "runway", owner: owner)
        #expect(labels[TaskLabels.run] == "1")
        labels[TaskLabels.run] = nil
        #expect(TaskOwner(labels: labels)?.run == 1)
        #expect(TaskOwner(labels: labels)?.taskName() == owner.taskName(), "names of run 1 are what they were before runs")
        labels[TaskLabels.run] = "0"
        #expect(TaskOwner(labels: labels) == nil)
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
