import Foundation
import RunwayModel
import RunwayStore

/// What the runner API lets in: the jobs held for their runners and the tokens they call with.
extension Reconciler {
    /// After a controller restart or a failover the holding set is empty: put back the job of
    /// every attempt that waits for its runner or runs (a runner whose claim answer died with the
    /// last leader claims again here), and drop those of attempts that ended. Built from the
    /// manifests, so no store read; a job is made only for an attempt not held already.
    func rehold(desired: DesiredState, records: [JobRecord], readStartedAt: ContinuousClock.Instant) {
        var wanted: [String: (record: JobRecord, job: Job)] = [:]
        for record in records where record.state == .held || record.state == .running {
            guard let job = desired.jobs[record.job], job.generation == record.generation else { continue }
            wanted[AttemptRecord.id(of: record)] = (record, job)
        }
        holding.holdOnly(attempts: Array(wanted.keys), readStartedAt: readStartedAt) { id in
            wanted[id].map { payload(for: $0.job, run: $0.record.run, attempt: $0.record.attempt) }
        }
    }

    /// Reloads the tokens runners may call with from the store: those of open attempts, and of
    /// attempts completed in the last two minutes (more than the runner API's grace after
    /// completion, which the store judges exactly on each call). Every full pass (a new leader's
    /// among them) reads them, others at most every 10 s: the tokens of the attempts this
    /// controller starts are allowed as it starts them, and a token left over from an attempt
    /// that ended meanwhile only gets its call as far as the store, which refuses it.
    func reloadTokens() async throws {
        let readStartedAt = ContinuousClock.now
        let live = try await store.liveTokenHashes(completedSince: Date().addingTimeInterval(-120))
        holding.replaceTokens(with: live, readStartedAt: readStartedAt)
    }

    func payload(for job: Job, run: Int, attempt: Int) -> ClaimedJob {
        ClaimedJob(
            attemptID: AttemptRecord.id(job: job.name, generation: job.generation, run: run, number: attempt), job: job.name,
            generation: job.generation.digest, run: run, attempt: attempt,
            command: job.spec.command, workingDirectory: job.spec.workingDirectory, environment: job.spec.environment,
            heartbeatIntervalMilliseconds: Int(configuration.heartbeatInterval.wholeMilliseconds),
            maxLogChunkBytes: configuration.maxLogChunkBytes)
    }
}
