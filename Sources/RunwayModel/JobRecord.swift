import Foundation

/// What the store knows about one run of one generation of one job. A generation runs once
/// (run 1) unless something asks for more: a rerun, a change of the spec's `rerun` field, a
/// dependency that ran again, or a schedule's tick. Each run counts its attempts from 1.
public struct JobRecord: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        /// Waiting to be started (first attempt, or a retry after its backoff).
        case pending
        /// A task is being started; the job waits in the holding set for its runner.
        case held
        /// Its runner connected and took it.
        case running
        case succeeded
        case failed
        case cancelled

        /// Succeeded, failed or cancelled: the generation will not run again.
        public var isTerminal: Bool {
            switch self {
            case .succeeded, .failed, .cancelled: true
            case .pending, .held, .running: false
            }
        }
    }

    // Stored in an order that packs them (an optional date takes 9 bytes; the one-byte and
    // five-byte fields fill the gaps after them): a controller keeps every record of a
    // directory's jobs, 100,000 of them at scale.
    public var job: String
    public var generation: Generation
    /// Which run of the generation this is, from 1.
    public var run: Int
    public var profile: String
    /// The number of the latest attempt started; 0 before the first.
    public var attempt: Int
    /// Why the record is in its state ("exit code 1", "start-timeout").
    public var lastReason: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// When the current attempt's start was requested (state `held`).
    public var heldSince: Date?
    public var state: State
    /// Its attempts, events and log output were removed by the history limit; this record stays.
    public var compacted: Bool
    /// When the current attempt's runner took the job (state `running`).
    public var runningSince: Date?
    public var exitCode: Int32?
    /// The last sign of life from the current attempt's runner (claim, heartbeat, log).
    public var lastHeartbeatAt: Date?
    /// The fields few records set, apart (nil when none is set).
    private var rare: RareFields?

    /// No new attempt before this (state `pending` after a failure).
    public var nextAttemptAt: Date? {
        get { rare?.value.nextAttemptAt }
        set { updateRare { $0.nextAttemptAt = newValue } }
    }
    /// Why this run exists, in words ("rerun by alice: flaky network", "schedule tick
    /// 2026-11-30T02:00:00Z"); nil for a generation's first run.
    public var origin: String? {
        get { rare?.value.origin }
        set { updateRare { $0.origin = newValue } }
    }
    /// The spec's `rerun` value this run was made under: a different value asks for a new run.
    public var rerunToken: String? {
        get { rare?.value.rerunToken }
        set { updateRare { $0.rerunToken = newValue } }
    }
    /// The runs of its dependencies this run started after (`build@3f2a9c01#2,test@…`); nil
    /// before it starts, or when the job has none.
    public var upstream: String? {
        get { rare?.value.upstream }
        set { updateRare { $0.upstream = newValue } }
    }
    /// A scheduled run waiting for its tick: it runs at the first tick after this time.
    public var scheduledAfter: Date? {
        get { rare?.value.scheduledAfter }
        set { updateRare { $0.scheduledAfter = newValue } }
    }
    /// The schedule tick this run is for, once that tick came.
    public var scheduledFor: Date? {
        get { rare?.value.scheduledFor }
        set { updateRare { $0.scheduledFor = newValue } }
    }

    private mutating func updateRare(_ change: (inout RareFields.Value) -> Void) {
        var value = rare?.value ?? RareFields.Value()
        change(&value)
        rare = value == RareFields.Value() ? nil : RareFields(value)
    }

    public init(
        job: String,
        generation: Generation,
        profile: String,
        state: State,
        attempt: Int,
        lastReason: String? = nil,
        exitCode: Int32? = nil,
        createdAt: Date,
        updatedAt: Date? = nil,
        heldSince: Date? = nil,
        runningSince: Date? = nil,
        nextAttemptAt: Date? = nil,
        lastHeartbeatAt: Date? = nil,
        run: Int = 1
    ) {
        self.job = job
        self.generation = generation
        self.run = run
        self.profile = profile
        self.state = state
        self.attempt = attempt
        self.lastReason = lastReason
        self.exitCode = exitCode
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.heldSince = heldSince
        self.runningSince = runningSince
        self.lastHeartbeatAt = lastHeartbeatAt
        self.compacted = false
        self.nextAttemptAt = nextAttemptAt
    }

    public var key: JobKey { JobKey(job: job, generation: generation, run: run) }

    /// How ``lastReason`` begins while a failed or cancelled dependency holds the run back.
    public static let blockedPrefix = "blocked: "

    /// Pending, held back by a dependency whose current run failed or was cancelled.
    public var isBlocked: Bool { state == .pending && lastReason?.hasPrefix(Self.blockedPrefix) == true }

    /// The record that stands for a job now, of its records: the latest updated, a scheduled
    /// job's run waiting for its tick only when it has no other.
    public static func current(of records: [JobRecord]) -> JobRecord? {
        records.filter { !$0.awaitsTick }.max { ($0.updatedAt, $0.run) < ($1.updatedAt, $1.run) }
            ?? records.max { $0.updatedAt < $1.updatedAt }
    }

    /// A scheduled run whose tick has not come yet: not started, nothing to do but wait.
    public var awaitsTick: Bool { state == .pending && attempt == 0 && scheduledAfter != nil && scheduledFor == nil }
}

/// A record's rarely set fields, in a box of their own (immutable: a change makes a new one),
/// compared and hashed by value.
private final class RareFields: Sendable, Hashable {
    struct Value: Sendable, Hashable {
        var nextAttemptAt: Date?
        var origin: String?
        var rerunToken: String?
        var upstream: String?
        var scheduledAfter: Date?
        var scheduledFor: Date?
    }

    let value: Value

    init(_ value: Value) { self.value = value }

    static func == (lhs: RareFields, rhs: RareFields) -> Bool { lhs.value == rhs.value }
    func hash(into hasher: inout Hasher) { hasher.combine(value) }
}

/// One run of one generation of one job.
public struct JobKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var job: String
    public var generation: Generation
    public var run: Int

    public init(job: String, generation: Generation, run: Int = 1) {
        self.job = job
        self.generation = generation
        self.run = run
    }

    /// `build@3f2a9c01` for a first run, `build@3f2a9c01#2` for later ones.
    public var description: String { "\(job)@\(generation.short)" + (run == 1 ? "" : "#\(run)") }

    public static func < (lhs: JobKey, rhs: JobKey) -> Bool {
        (lhs.job, lhs.generation.digest, lhs.run) < (rhs.job, rhs.generation.digest, rhs.run)
    }
}
