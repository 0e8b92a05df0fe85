import Foundation
import RunwayModel

/// The job records of one pass, indexed once: by run, the runs of each job's current
/// generation in order, and what each job's dependencies stand at. Shared by the run queue and
/// the planner, so both read the records the same way.
struct RunIndex {
    let desired: DesiredState
    /// Every record, by run.
    let byKey: [JobKey: JobRecord]
    /// All records of each job name, any generation.
    let byJob: [String: [JobRecord]]
    /// The runs of each desired job's current generation, by run number.
    let current: [String: [JobRecord]]

    init(desired: DesiredState, records: [JobRecord]) {
        self.desired = desired
        var byKey: [JobKey: JobRecord] = [:]
        byKey.reserveCapacity(records.count)
        var byJob: [String: [JobRecord]] = [:]
        for record in records {
            byKey[record.key] = record
            byJob[record.job, default: []].append(record)
        }
        var current: [String: [JobRecord]] = [:]
        for (name, records) in byJob {
            guard let job = desired.jobs[name] else { continue }
            let runs = records.filter { $0.generation == job.generation }
            if !runs.isEmpty { current[name] = runs.sorted { $0.run < $1.run } }
        }
        self.byKey = byKey
        self.byJob = byJob
        self.current = current
    }

    /// The job's latest run of its current generation that is a run (not a scheduled one still
    /// waiting for its tick).
    func latestRun(of job: String) -> JobRecord? {
        current[job]?.last { !$0.awaitsTick }
    }

    /// The runs of `job`'s dependencies as they stand (`build@3f2a9c01#2,test@…`), or nil while
    /// one of them has no run yet.
    func upstream(of job: Job) -> String? {
        var parts: [String] = []
        for name in job.spec.after.sorted() {
            guard let run = latestRun(of: name) else { return nil }
            parts.append(run.key.description)
        }
        return parts.isEmpty ? nil : parts.joined(separator: ",")
    }

    /// The first dependency of `job` whose current run has not succeeded, with why: nil when
    /// all have. `blocked` when that run failed or was cancelled.
    func unmetDependency(of job: Job) -> (job: String, status: String, blocked: Bool)? {
        for name in job.spec.after {
            guard let run = latestRun(of: name) else { return (name, "not run yet", false) }
            switch run.state {
            case .succeeded: continue
            case .failed, .cancelled:
                return (name, "\(run.state.rawValue)" + (run.lastReason.map { ": \($0)" } ?? ""), true)
            case .pending:
                return (name, run.attempt == 0 ? "pending" : "pending, attempt \(run.attempt + 1) after backoff", false)
            case .held, .running:
                return (name, "\(run.state.rawValue), attempt \(run.attempt)", false)
            }
        }
        return nil
    }
}
