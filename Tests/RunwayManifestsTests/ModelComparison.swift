import RunwayModel

/// Two desired states compared by meaning, not by where things were written (locations) or how
/// a string was spelled (quoted or not): what "the same model" means across YAML and HCL.
enum ModelComparison {
    /// The differences, one line each; empty when the models are equal.
    static func differences(_ a: DesiredState, _ b: DesiredState) -> [String] {
        var out: [String] = []
        if a.profiles.keys.sorted() != b.profiles.keys.sorted() {
            out.append("profiles \(a.profiles.keys.sorted()) vs \(b.profiles.keys.sorted())")
        }
        for (name, p) in a.profiles {
            guard let q = b.profiles[name] else { continue }
            if p.labels != q.labels || p.plugin != q.plugin || p.isDefault != q.isDefault || p.image != q.image
                || p.environment != q.environment || p.secretEnvironment != q.secretEnvironment
                || p.maxConcurrent != q.maxConcurrent || p.startTimeout != q.startTimeout
                || p.config.map(canonical) != q.config.map(canonical)
            {
                out.append("profile \(name) differs")
            }
        }
        if a.jobs.keys.sorted() != b.jobs.keys.sorted() { out.append("jobs \(a.jobs.keys.sorted()) vs \(b.jobs.keys.sorted())") }
        for (name, j) in a.jobs {
            guard let k = b.jobs[name] else { continue }
            if j.generation != k.generation || j.profile != k.profile || j.spec.labels != k.spec.labels || j.spec.rerun != k.spec.rerun
                || j.spec.after != k.spec.after || j.spec.schedule != k.spec.schedule || j.spec.historyLimit != k.spec.historyLimit
            {
                out.append("job \(name) differs")
            }
        }
        return out
    }

    /// A node's content as text, without locations or quoting.
    static func canonical(_ node: ConfigNode) -> String {
        switch node.value {
        case .scalar(let scalar): return node.isNull ? "null" : "\"\(scalar.text)\""
        case .sequence(let items): return "[" + items.map(canonical).joined(separator: ",") + "]"
        case .mapping(let entries):
            return "{" + entries.sorted { $0.key < $1.key }.map { "\($0.key):\(canonical($0.value))" }.joined(separator: ",") + "}"
        }
    }
}
