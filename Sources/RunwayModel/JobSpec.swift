import Foundation

/// A job as written in a `kind: Job` manifest: a command to run once on a runner profile.
public struct JobSpec: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    /// The profile as written; nil means the default profile.
    public var profile: String?
    /// The argv to run, never empty.
    public var command: [String]
    public var workingDirectory: String?
    public var environment: [String: String]
    /// Wall time of one attempt once running; nil means no limit.
    public var timeout: Duration?
    /// Further attempts after a failed one.
    public var retries: Int
    /// Where the job's `metadata.name` was written.
    public var location: SourceLocation
    /// The image the command runs in, when it is not the runner's: Runway brings the runner into
    /// it (the image needs nothing of Runway). Part of the generation only when set.
    public var image: String?
    /// Where `spec.image` was written, for diagnostics.
    public var imageLocation: SourceLocation? {
        get { rarely?.fields.imageLocation }
        set { rarelySet { $0.imageLocation = newValue } }
    }
    /// Any text; a change of it runs the current generation once more (like a Deployment's
    /// `restartedAt`). Not part of the generation.
    public var rerun: String?
    /// Jobs whose current run must have succeeded before this one starts; when one runs again,
    /// this job runs again after it. Not part of the generation.
    public var after: [String] = []
    /// Where each name of `after` was written, for diagnostics.
    public var afterLocations: [SourceLocation] = []
    /// When the job runs on a schedule; nil: it runs once per generation (and per rerun).
    public var schedule: JobSchedule? {
        get { rarely?.fields.schedule }
        set { rarelySet { $0.schedule = newValue } }
    }
    /// How many finished runs keep their attempts, events and logs (the rest are compacted;
    /// their job records stay). Not part of the generation.
    public var historyLimit: Int = JobSpec.defaultHistoryLimit

    public static let defaultHistoryLimit = 10

    /// The fields most jobs leave unset, out of line: a spec is kept for every job, and these
    /// were a third of its size (nil when all are unset).
    private var rarely: Rarely?

    private struct RarelyFields: Sendable, Hashable {
        var schedule: JobSchedule?
        var imageLocation: SourceLocation?
    }

    private final class Rarely: Sendable, Hashable {
        let fields: RarelyFields
        init(_ fields: RarelyFields) { self.fields = fields }
        static func == (lhs: Rarely, rhs: Rarely) -> Bool { lhs.fields == rhs.fields }
        func hash(into hasher: inout Hasher) { hasher.combine(fields) }
    }

    private mutating func rarelySet(_ change: (inout RarelyFields) -> Void) {
        var fields = rarely?.fields ?? RarelyFields()
        change(&fields)
        rarely = fields == RarelyFields() ? nil : Rarely(fields)
    }

    public init(
        name: String,
        labels: [String: String] = [:],
        profile: String? = nil,
        command: [String],
        workingDirectory: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration? = nil,
        retries: Int = 0,
        location: SourceLocation
    ) {
        self.name = name
        self.labels = labels
        self.profile = profile
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.timeout = timeout
        self.retries = retries
        self.location = location
    }
}

/// When and how a scheduled job runs: a tick of `cron` in `timeZone` starts a run. None of
/// this is part of the generation: an edit takes effect from the next tick.
public struct JobSchedule: Sendable, Hashable {
    public enum ConcurrencyPolicy: String, Sendable, Hashable, CaseIterable {
        /// A tick while a run is open is skipped (and recorded).
        case forbid = "Forbid"
        /// A tick cancels the open run and starts a new one.
        case replace = "Replace"
        /// A tick starts a run even while others are open.
        case allow = "Allow"
    }

    public var cron: CronSchedule
    public var timeZone: TimeZone
    public var concurrencyPolicy: ConcurrencyPolicy
    /// A tick missed by more than this (the controller was down) is skipped, and the skip recorded.
    public var startingDeadline: Duration?
    /// No tick starts a run while set; open runs go on.
    public var suspend: Bool

    public init(
        cron: CronSchedule, timeZone: TimeZone = TimeZone(identifier: "UTC")!, concurrencyPolicy: ConcurrencyPolicy = .forbid,
        startingDeadline: Duration? = nil, suspend: Bool = false
    ) {
        self.cron = cron
        self.timeZone = timeZone
        self.concurrencyPolicy = concurrencyPolicy
        self.startingDeadline = startingDeadline
        self.suspend = suspend
    }

    /// The first tick after `date`.
    public func next(after date: Date) -> Date? { cron.next(after: date, in: timeZone) }

    /// The last tick at or before `date`.
    public func previous(atOrBefore date: Date) -> Date? { cron.previous(atOrBefore: date, in: timeZone) }
}

/// A job spec in a shared box: the manifest cache's decoded object and the desired state's job
/// hold one copy between them (a spec is a few hundred bytes inline; at 100,000 jobs a second
/// copy was tens of MiB).
public final class JobSpecBox: Sendable {
    public let spec: JobSpec
    public init(_ spec: JobSpec) { self.spec = spec }
}

/// A job with its profile resolved and its generation computed: what the planner works on.
/// The spec is kept in a shared box, so the desired state's map of jobs keeps small entries (a
/// patched map copies the nodes on a changed job's path) and a job kept from the last load
/// compares equal by identity.
public struct Job: Sendable, Hashable {
    private var box: JobSpecBox
    public var spec: JobSpec {
        get { box.spec }
        set { box = JobSpecBox(newValue) }
    }
    /// The resolved profile name (the default profile when the spec names none).
    public var profile: String
    /// The digest of the canonical spec; a changed spec is a new generation and runs again.
    public var generation: Generation

    public var name: String { spec.name }

    public init(spec: JobSpec, profile: String) {
        self.init(box: JobSpecBox(spec), profile: profile)
    }

    /// The job of a boxed spec, sharing the box.
    public init(box: JobSpecBox, profile: String) {
        self.box = box
        self.profile = profile
        self.generation = Generation(of: box.spec, profile: profile)
    }

    /// This job with its spec read from `box`, which holds an equal spec decoded again (its
    /// generation is not computed again, and the decoded copy is the only one kept).
    public func sharing(_ box: JobSpecBox) -> Job {
        var job = self
        job.box = box
        return job
    }

    public static func == (lhs: Job, rhs: Job) -> Bool {
        lhs.generation == rhs.generation && lhs.profile == rhs.profile && (lhs.box === rhs.box || lhs.spec == rhs.spec)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(generation)
        hasher.combine(profile)
    }
}
