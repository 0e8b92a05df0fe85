import RunwayModel

/// Checks every job's `spec.after`: each name a job of the directory, and no cycle. A job that
/// fails the check is left out (with an error at the name's file:line:column), and so is every
/// job that depends on one left out: the rest run.
enum DependencyCheck {
    /// `dependents`: the names of the jobs with `after`, sorted (only such a job can name an
    /// unknown job, be in a cycle or lose a dependency).
    static func valid(_ jobs: DesiredState.Jobs, dependents: [String], defined: Set<String>, diagnostics: inout [Diagnostic]) -> DesiredState.Jobs {
        var valid = jobs
        for name in dependents {
            guard let spec = jobs[name]?.spec else { continue }  // left out already (its profile, its image)
            for (dependency, location) in zip(spec.after, spec.afterLocations) where jobs[dependency] == nil {
                let hint = Suggestion.closest(to: dependency, in: jobs.keys.sorted()).map { "did you mean '\($0)'?" }
                let message = defined.contains(dependency)
                    ? "job '\(name)' runs after '\(dependency)', which has errors"
                    : "job '\(name)' runs after '\(dependency)', which does not exist"
                diagnostics.append(.error("unknown-job", message, at: location, hint: defined.contains(dependency) ? nil : hint))
                valid[name] = nil
            }
        }
        for cycle in cycles(in: valid, from: dependents) {
            let first = valid[cycle[0]]!.spec
            let location = first.afterLocations[first.after.firstIndex(of: cycle[1])!]
            diagnostics.append(.error("dependency-cycle",
                "jobs depend on each other in a cycle: \((cycle + [cycle[0]]).joined(separator: " → "))", at: location,
                hint: "remove one of these names from its job's 'spec.after'"))
            for name in cycle { valid[name] = nil }
        }
        // Whatever depends on a job left out cannot run either.
        var changed = true
        while changed {
            changed = false
            for name in dependents {
                guard let spec = valid[name]?.spec else { continue }
                guard let index = spec.after.firstIndex(where: { valid[$0] == nil && jobs[$0] != nil }) else { continue }
                diagnostics.append(.error("unknown-job",
                    "job '\(name)' runs after '\(spec.after[index])', which is left out for the errors above", at: spec.afterLocations[index]))
                valid[name] = nil
                changed = true
            }
        }
        return valid
    }

    /// Each cycle once, starting at its smallest name, in name order. Iterative (a depth-first
    /// walk with its own stack), so a chain of any length cannot exhaust the thread's stack.
    /// `roots`: where walks start (every job of a cycle has `after`, so those jobs suffice).
    static func cycles(in jobs: DesiredState.Jobs, from roots: [String]? = nil) -> [[String]] {
        var done = Set<String>()
        var onPath: [String: Int] = [:]
        var found = Set<[String]>()
        for root in roots ?? jobs.keys.sorted() where !done.contains(root) && jobs[root] != nil {
            var stack: [(name: String, next: Int)] = [(root, 0)]
            onPath[root] = 0
            while let top = stack.last {
                let after = jobs[top.name]!.spec.after
                guard top.next < after.count else {
                    stack.removeLast()
                    onPath[top.name] = nil
                    done.insert(top.name)
                    continue
                }
                stack[stack.count - 1].next += 1
                let next = after[top.next]
                guard jobs[next] != nil, !done.contains(next) else { continue }
                if let index = onPath[next] {
                    var cycle = stack[index...].map(\.name)
                    let start = cycle.firstIndex(of: cycle.min()!)!
                    cycle = Array(cycle[start...] + cycle[..<start])
                    found.insert(cycle)
                } else {
                    onPath[next] = stack.count
                    stack.append((next, 0))
                }
            }
        }
        return found.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
