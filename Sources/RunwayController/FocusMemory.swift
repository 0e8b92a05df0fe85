import Foundation
import RunwayModel
import RunwayPlanner
import Synchronization

/// What focused passes keep between them (see ``Focus``): whether the next pass must look at
/// every job, the desired state's scheduled jobs and dependency edges, and each job's state for
/// `runway_jobs`. A pass looks at every job when it is the first, when the one before failed
/// (it may have left changes unlooked at), when the caller cannot say which manifests changed,
/// and when the record book read every record again (its full reload); the mutex guards it all.
final class FocusMemory: Sendable {
    private struct State {
        var needsFull = true
        var graph: Focus.Graph?
        /// Each job's current run's state (of its current generation), and how many jobs are in
        /// each state.
        var jobStates: [String: JobRecord.State] = [:]
        var counts: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// The pass failed: the next one looks at every job.
    func passFailed() {
        state.withLock { $0.needsFull = true }
    }

    /// The jobs this pass looks at, or nil for every job. `changedJobs`: the jobs whose
    /// manifests changed since the last pass (nil: unknown).
    func focus(
        desired: DesiredState, changedJobs: Set<String>?, recordBook: RecordBook, observed: [ObservedTask], requests: [JobRequest]
    ) -> Set<String>? {
        let changedRecords = recordBook.takeChanged()
        let open = recordBook.openJobs
        return state.withLock { state in
            guard !state.needsFull, let changedJobs, let changedRecords, var graph = state.graph else {
                state.needsFull = false
                state.graph = Focus.Graph(desired: desired)
                return nil
            }
            if !changedJobs.isEmpty { graph.update(desired: desired, changed: changedJobs) }
            state.graph = graph
            return Focus.jobs(changed: changedJobs.union(changedRecords), open: open, observed: observed, requests: requests, graph: graph)
        }
    }

    /// Jobs by the state of their current run (of their current generation), brought up to date
    /// with the jobs of `focus` (every job when nil) from `records` (theirs).
    func jobStates(desired: DesiredState, records: [JobRecord], focus: Set<String>?) -> [String: Int] {
        let byJob = Dictionary(grouping: records, by: \.job)
        return state.withLock { state in
            if focus == nil {
                state.jobStates = [:]
                state.counts = [:]
            }
            for name in focus ?? Set(byJob.keys) {
                let generation = desired.jobs[name]?.generation
                let now = JobRecord.current(of: (byJob[name] ?? []).filter { $0.generation == generation })?.state
                let before = state.jobStates[name]
                guard now != before else { continue }
                if let before { state.counts[before.rawValue, default: 0] -= 1 }
                if let now { state.counts[now.rawValue, default: 0] += 1 }
                state.jobStates[name] = now
            }
            return state.counts
        }
    }
}
