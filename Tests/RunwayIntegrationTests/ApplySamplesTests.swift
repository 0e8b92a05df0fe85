import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

/// `runway apply` on the shipped samples, as a user runs it: real processes, real HTTP.
@Suite(.leavesNoProcesses, .serialized) struct ApplySamplesTests {
    @Test func localSamplesSucceedAndASecondRunStartsNothing() async throws {
        let workspace = try Workspace()
        let first = try await workspace.apply(directory: Repository.path("Samples/local"))
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("7/7 jobs succeeded"))
        let records = try await workspace.records()
        #expect(records.count == 7)
        #expect(records.values.allSatisfy { $0.state == .succeeded })
        #expect(records["flaky"]?.attempt == 2, "the flaky job succeeds on its retry")
        #expect(try await workspace.attempts("flaky").first?.exitCode == 1)
        let attemptsBefore = try await workspace.store().openAttempts().count
        #expect(attemptsBefore == 0)
        #expect(workspace.leftoverTasks.isEmpty, "every task started was stopped")

        let second = try await workspace.apply(directory: Repository.path("Samples/local"))
        #expect(second.status == 0)
        for job in records.keys {
            let attempts = try await workspace.attempts(job)
            #expect(attempts.count == (job == "flaky" ? 2 : 1), "\(job) must not run again")
        }
    }

    @Test func failureSamplesEndAsTheirCommentsSay() async throws {
        let workspace = try Workspace()
        let first = try await workspace.apply(directory: Repository.path("Samples/failures"))
        #expect(first.status == 1, "\(first.stdout)\n\(first.stderr)")
        let records = try await workspace.records()
        // exits-nonzero: failed, exit code 3, after 2 attempts.
        #expect(records["exits-nonzero"]?.state == .failed)
        #expect(records["exits-nonzero"]?.exitCode == 3)
        #expect(records["exits-nonzero"]?.attempt == 2)
        // runs-too-long: failed, timed-out, 1 attempt.
        #expect(records["runs-too-long"]?.state == .failed)
        #expect(records["runs-too-long"]?.lastReason?.contains("timed-out") == true)
        #expect(records["runs-too-long"]?.attempt == 1)
        // never-connects: failed, start-timeout, 1 attempt.
        #expect(records["never-connects"]?.state == .failed)
        #expect(records["never-connects"]?.lastReason?.contains("start-timeout") == true)
        #expect(records["never-connects"]?.attempt == 1)
        #expect(workspace.leftoverTasks.isEmpty)
        #expect(processes(withEnvironment: "RUNWAY_TASK_ID=\(try await workspace.attempts("runs-too-long").first!.id)").isEmpty)

        let second = try await workspace.apply(directory: Repository.path("Samples/failures"))
        #expect(second.status == 1, "same status the second time")
        #expect(try await workspace.attempts("exits-nonzero").count == 2)
        #expect(try await workspace.attempts("never-connects").count == 1)
    }

    /// Samples/hcl is Samples/local in HCL: applying it does exactly what applying the YAML does.
    @Test func theHCLSamplesBehaveExactlyAsTheYAMLOnes() async throws {
        let yaml = try Workspace()
        let hcl = try Workspace()
        let fromYAML = try await yaml.apply(directory: Repository.path("Samples/local"))
        let fromHCL = try await hcl.apply(directory: Repository.path("Samples/hcl"))
        #expect(fromHCL.status == 0 && fromYAML.status == 0, "\(fromHCL.stderr)")
        #expect(fromHCL.stdout.contains("7/7 jobs succeeded"))
        let yamlRecords = try await yaml.records()
        let hclRecords = try await hcl.records()
        #expect(hclRecords.keys.sorted() == yamlRecords.keys.sorted())
        for (job, record) in yamlRecords {
            let other = try #require(hclRecords[job])
            #expect(other.generation == record.generation, "\(job): the same spec, so the same generation")
            #expect(other.state == record.state && other.attempt == record.attempt && other.exitCode == record.exitCode, "\(job)")
            #expect(try await workspaceLogs(hcl, job) == (try await workspaceLogs(yaml, job)), "\(job): the same output")
        }
        #expect(hcl.leftoverTasks.isEmpty)
    }

    @Test func editingOneJobRunsOnlyThatJob() async throws {
        let workspace = try Workspace()
        try workspace.write("all.yaml", workspace.profile() + workspace.job("one", "echo one") + workspace.job("two", "echo two"))
        #expect(try await workspace.apply().status == 0)
        try workspace.write("all.yaml", workspace.profile() + workspace.job("one", "echo one, edited") + workspace.job("two", "echo two"))
        let second = try await workspace.apply()
        #expect(second.status == 0)
        #expect(try await workspace.attempts("one").count == 2)
        #expect(try await workspace.attempts("two").count == 1)
        let store = try workspace.store()
        #expect(try await store.jobRecords(job: "one").count == 2, "both generations are kept")
        #expect(String(decoding: try await workspaceLogs(workspace, "one"), as: UTF8.self) == "one, edited\n")
    }

    private func workspaceLogs(_ workspace: Workspace, _ job: String) async throws -> [UInt8] {
        let result = try await RunwayExecutable.run(["logs", job, "--state-dir", workspace.state])
        return Array(result.stdout.utf8)
    }
}
