import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

extension KubernetesTests {
    /// A 63-character job name run three times (two reruns through the bare state dir): every
    /// run's Job gets a valid name of at most 63 characters, distinct from the others, which
    /// the API server accepts (it refuses an invalid one with 422).
    @Test func aLongJobNameGetsValidDistinctJobNamesAcrossRuns() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let name = "long-" + String(repeating: "x", count: 57) + "z"
        #expect(name.count == 63)
        try workspace.write("all.yaml", setup.profile() + workspace.job(name, "echo run $RUNWAY_ATTEMPT"))
        let attempts = try await workspace.runRepeatedly(name, runs: 3) { try await setup.apply() }
        #expect(attempts.map(\.run) == [1, 2, 3] && attempts.allSatisfy { $0.state == .completed }, "\(attempts)")
        let names = attempts.map(\.taskName)
        #expect(Set(names).count == 3, "\(names)")
        for task in names {
            #expect(task.count <= 63 && task.range(of: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", options: .regularExpression) != nil, "\(task)")
        }
        let requests = try await setup.requests()
        #expect(setup.count(requests, verb: "create", resource: "jobs", status: 201) == 3)
        #expect(!requests.contains { $0["status"] as? Int == 422 }, "every name and label was valid")
        #expect(await setup.leftoversAfterCleanup().isEmpty)
    }
}
