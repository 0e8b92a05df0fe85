import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

extension NomadTests {
    /// A 63-character job name run three times (two reruns through the bare state dir): each
    /// run's Nomad job has its own valid ID, and each ends deregistered.
    @Test func aLongJobNameGetsDistinctJobIDsAcrossRuns() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let name = "long-" + String(repeating: "y", count: 57) + "z"
        try workspace.write("all.yaml", setup.profile() + workspace.job(name, "echo run $RUNWAY_ATTEMPT"))
        let attempts = try await workspace.runRepeatedly(name, runs: 3) { try await setup.apply() }
        #expect(attempts.map(\.run) == [1, 2, 3] && attempts.allSatisfy { $0.state == .completed }, "\(attempts)")
        let names = attempts.map(\.taskName)
        #expect(Set(names).count == 3 && names.allSatisfy { $0.count <= 63 && !$0.contains(" ") }, "\(names)")
        #expect(await setup.leftovers().isEmpty)
    }
}
