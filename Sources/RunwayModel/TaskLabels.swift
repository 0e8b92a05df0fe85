/// The labels every platform resource of Runway carries, and the deterministic task names.
/// A start that already happened is found again by name and labels, so it is adopted, never
/// repeated.
public enum TaskLabels {
    /// Every label Runway sets starts with this; profiles may not set such labels themselves.
    public static let prefix = "runway.io/"
    public static let managedBy = "runway.io/managed-by"
    public static let job = "runway.io/job"
    public static let generation = "runway.io/generation"
    public static let attempt = "runway.io/attempt"
    /// Which run of the generation; tasks started before runs existed carry none and are run 1.
    public static let run = "runway.io/run"
    public static let profile = "runway.io/profile"

    /// `text` itself when it fits in `limit` characters, else its head and a stable hash of
    /// the whole (`runway-a-very-long-…-3f2a9c01d4`), so distinct texts stay distinct.
    public static func shortened(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        let suffix = "-" + String(StableHash.fnv1a64(text), radix: 16).prefix(10)
        var head = String(text.prefix(limit - suffix.count))
        while head.last == "-" { head.removeLast() }
        return head + suffix
    }

    /// The label set of one attempt's task.
    public static func labels(controllerID: String, owner: TaskOwner) -> [String: String] {
        [
            managedBy: controllerID,
            job: owner.job,
            generation: owner.generation.digest,
            run: String(owner.run),
            attempt: String(owner.attempt),
            profile: owner.profile,
        ]
    }
}

/// Which job attempt a task belongs to, as its labels say.
public struct TaskOwner: Sendable, Hashable {
    public var job: String
    public var generation: Generation
    public var run: Int
    public var attempt: Int
    public var profile: String

    public init(job: String, generation: Generation, run: Int = 1, attempt: Int, profile: String) {
        self.job = job
        self.generation = generation
        self.run = run
        self.attempt = attempt
        self.profile = profile
    }

    /// Reads the owner from a task's labels; nil when any label is missing or malformed. A task
    /// without a run label (started before runs existed) is run 1.
    public init?(labels: [String: String]) {
        guard let job = labels[TaskLabels.job], !job.isEmpty,
            let generation = labels[TaskLabels.generation], !generation.isEmpty,
            let attemptText = labels[TaskLabels.attempt], let attempt = Int(attemptText), attempt > 0,
            let profile = labels[TaskLabels.profile]
        else { return nil }
        var run = 1
        if let runText = labels[TaskLabels.run] {
            guard let number = Int(runText), number > 0 else { return nil }
            run = number
        }
        self.init(job: job, generation: Generation(digest: generation), run: run, attempt: attempt, profile: profile)
    }

    /// The run of the generation this task belongs to.
    public var key: JobKey { JobKey(job: job, generation: generation, run: run) }

    /// `runway-<job>-<generation8>-<attempt>` for a first run, `runway-<job>-<generation8>-r<run>-<attempt>`
    /// for later ones, shortened to `limit` characters with a hash of the whole when it is
    /// longer (platforms cap names: 63 for Kubernetes, 255 for ECS), so every run and attempt
    /// keeps a distinct name.
    public func taskName(limit: Int = 63) -> String {
        let runPart = run == 1 ? "" : "-r\(run)"
        return TaskLabels.shortened("runway-\(job)-\(generation.short)\(runPart)-\(attempt)", limit: limit)
    }
}

/// A small, stable (process-independent) hash for name shortening; not for security.
enum StableHash {
    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
