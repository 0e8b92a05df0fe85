import Foundation
import RunwayModel

/// The jobs a pass has to look at when it knows what changed since the last pass, pure.
///
/// A job outside the focus is quiet: its manifest and its records did not change since a pass
/// looked at it, none of its runs is open, no task of it exists or is starting, no request
/// names it, it follows no schedule, and none of its dependencies moved. For such a job the run
/// queue, the settlement and the planner decide nothing (its current generation has its runs,
/// all finished), so a pass over the focus decides what a pass over everything would, at the
/// cost of what changed plus what is live. The focus holds:
/// - the jobs whose manifest or records changed, whose runs are open, that have tasks (or starts
///   in flight), that requests name, and every scheduled job (a tick is time, not a change);
/// - the jobs that depend on those (a dependency that ran again queues a run of its dependents);
/// - the dependencies of all of the above (a run waits for them and records what they stood at).
public enum Focus {
    /// The desired state's scheduled jobs and dependency edges, kept across passes and brought
    /// up to date with the jobs that changed (so a pass does not walk every job to find them).
    public struct Graph: Sendable, Equatable {
        public private(set) var scheduled = Set<String>()
        /// Each job's dependencies (only jobs that have some).
        public private(set) var after: [String: [String]] = [:]
        /// The jobs that depend on each job.
        public private(set) var dependents: [String: Set<String>] = [:]

        /// Built from every job of `desired`.
        public init(desired: DesiredState) {
            update(desired: desired, changed: desired.jobs.keys)
        }

        /// Takes the jobs named in `changed` (added, edited or removed) from `desired` again.
        public mutating func update(desired: DesiredState, changed: some Sequence<String>) {
            for name in changed {
                scheduled.remove(name)
                for upstream in after.removeValue(forKey: name) ?? [] {
                    dependents[upstream]?.remove(name)
                    if dependents[upstream]?.isEmpty == true { dependents[upstream] = nil }
                }
                guard let job = desired.jobs[name] else { continue }
                if job.spec.schedule != nil { scheduled.insert(name) }
                if !job.spec.after.isEmpty {
                    after[name] = job.spec.after
                    for upstream in job.spec.after { dependents[upstream, default: []].insert(name) }
                }
            }
        }
    }

    /// The focus of a pass (see ``Focus``). `changed`: jobs whose manifest or records changed
    /// since the last pass; `open`: jobs with a run that is not finished.
    public static func jobs(
        changed: Set<String>, open: some Sequence<String>, observed: [ObservedTask], requests: [JobRequest], graph: Graph
    ) -> Set<String> {
        var focus = changed.union(open).union(graph.scheduled)
        for task in observed { if let job = task.owner?.job { focus.insert(job) } }
        for request in requests { focus.insert(request.job) }
        for job in Array(focus) { focus.formUnion(graph.dependents[job] ?? []) }
        for job in Array(focus) { focus.formUnion(graph.after[job] ?? []) }
        return focus
    }

    /// `desired` with only the jobs of `focus` (every profile kept).
    public static func restrict(_ desired: DesiredState, to focus: Set<String>) -> DesiredState {
        var jobs: DesiredState.Jobs = [:]
        for name in focus { if let job = desired.jobs[name] { jobs[name] = job } }
        return DesiredState(profiles: desired.profiles, jobs: jobs)
    }
}
