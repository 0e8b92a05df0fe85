import Foundation
import RunwayModel

/// Decides which runs exist, pure: a generation's first run, a further run when the spec's
/// `rerun` changed or a dependency ran again, the runs of a schedule's ticks (with its
/// concurrency policy and starting deadline), and what operators' requests ask. Records and
/// requests in, the records to write, their events and the requests taken up out.
public struct RunQueue: Sendable {
    public init() {}

    public struct Changes: Sendable {
        /// New runs, and runs that change (cancelled, a tick come or skipped).
        public var records: [JobRecord] = []
        public var events: [JobEvent] = []
        /// Requests taken up, with their outcome.
        public var handled: [JobRequest] = []
        /// Finished runs beyond their job's `historyLimit`, or older than the history retention
        /// (of any job, also one no longer in the manifests), to compact.
        public var compact: [JobKey] = []

        public var isEmpty: Bool { records.isEmpty && handled.isEmpty }

        public init() {}
    }

    /// `followsTicks: false` (`runway apply`): a schedule's tick starts nothing; its job keeps a
    /// run waiting for the next one.
    /// `retention`: finished runs that ended longer ago than this are compacted whatever their
    /// job's `historyLimit` (nil: kept by the limit only).
    public func queue(
        desired: DesiredState, records: [JobRecord], requests: [JobRequest] = [], now: Date, followsTicks: Bool = true,
        retention: Duration? = nil
    ) -> Changes {
        let index = RunIndex(desired: desired, records: records)
        let requestsByJob = Dictionary(grouping: requests.filter { $0.handledAt == nil }, by: \.job)
        var changes = Changes()
        for name in desired.jobs.keys.sorted() {
            var runs = JobRuns(job: desired.jobs[name]!, records: index.current[name] ?? [], others: index.byJob[name] ?? [], now: now)
            runs.queueFirst()
            runs.followSchedule(ticks: followsTicks)
            runs.followRerunField()
            if let upstream = index.upstream(of: runs.job) { runs.followDependencies(upstream) }
            for request in (requestsByJob[name] ?? []).sorted(by: { ($0.requestedAt, $0.id) < ($1.requestedAt, $1.id) }) {
                changes.handled.append(runs.take(request))
            }
            changes.records += runs.changed.sorted().map { runs.byKey[$0]! }
            changes.events += runs.events
            changes.compact += Self.beyondHistory(index.byJob[name] ?? [], limit: runs.job.spec.historyLimit, changed: runs.changed)
        }
        if let retention {
            let changed = Set(changes.records.map(\.key)).union(changes.compact)
            changes.compact += Self.pastRetention(records, before: now.addingTimeInterval(-retention.timeInterval), changed: changed)
        }
        return changes
    }

    /// Finished runs, of every job, that ended before `cutoff` and are not compacted yet.
    static func pastRetention(_ records: [JobRecord], before cutoff: Date, changed: Set<JobKey>) -> [JobKey] {
        records.filter { $0.state.isTerminal && !$0.compacted && $0.updatedAt < cutoff && !changed.contains($0.key) }.map(\.key).sorted()
    }

    /// Finished runs of one job past the newest `limit`, not compacted yet.
    static func beyondHistory(_ records: [JobRecord], limit: Int, changed: Set<JobKey>) -> [JobKey] {
        let finished = records.filter { $0.state.isTerminal && !changed.contains($0.key) }
            .sorted { ($0.updatedAt, $0.run) > ($1.updatedAt, $1.run) }
        return finished.dropFirst(limit).filter { !$0.compacted }.map(\.key).sorted()
    }
}

/// The runs of one job while the queue decides: its current generation's records, and what changed.
struct JobRuns {
    let job: Job
    let now: Date
    /// Records of any generation of the job, for a schedule's anchor and "spec changed".
    let others: [JobRecord]
    var byKey: [JobKey: JobRecord]
    var changed = Set<JobKey>()
    var events: [JobEvent] = []

    init(job: Job, records: [JobRecord], others: [JobRecord], now: Date) {
        self.job = job
        self.now = now
        self.others = others
        byKey = Dictionary(records.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The current generation's runs, by number.
    var runs: [JobRecord] { byKey.values.sorted { $0.run < $1.run } }
    var latestRun: JobRecord? { runs.last { !$0.awaitsTick } }
    /// Runs started or due, not finished.
    var openRuns: [JobRecord] { runs.filter { !$0.state.isTerminal && !$0.awaitsTick } }

    mutating func put(_ record: JobRecord, _ kind: String, _ message: String) {
        byKey[record.key] = record
        changed.insert(record.key)
        events.append(JobEvent(record, attempt: nil, at: now, kind: kind, message: message))
    }

    /// Queues the next run: at once, or (`scheduledAfter`) at the first tick after that time.
    @discardableResult
    mutating func add(origin: String?, scheduledAfter: Date? = nil) -> JobRecord {
        let run = (byKey.keys.map(\.run).max() ?? 0) + 1
        var record = Lifecycle.queued(job, run: run, now: now)
        record.origin = origin
        record.scheduledAfter = scheduledAfter
        let what = run == 1 ? "generation \(job.generation.short) queued" : "run \(run) of generation \(job.generation.short) queued"
        put(record, "queued", what + (origin.map { ": \($0)" } ?? ""))
        return record
    }

    /// A generation's first run; for a scheduled job, the run that waits for its first tick.
    mutating func queueFirst() {
        guard byKey.isEmpty else { return }
        if job.spec.schedule != nil {
            add(origin: nil, scheduledAfter: anchor)
        } else {
            add(origin: nil)
        }
    }

    /// Where a schedule counts ticks from: the last tick any run of the job was for (or waited
    /// after), else now: a new scheduled job runs from its first tick after it was first seen.
    var anchor: Date {
        (others + Array(byKey.values)).compactMap { $0.scheduledFor ?? $0.scheduledAfter }.max() ?? now
    }

    /// A scheduled job: keeps one run waiting for the next tick, and when a tick has come,
    /// starts that run, skips the tick (missed by more than the starting deadline, or `Forbid`
    /// while a run is open) or cancels the open run first (`Replace`). Without a schedule (it
    /// was removed), a run still waiting for a tick is cancelled.
    mutating func followSchedule(ticks: Bool) {
        guard let schedule = job.spec.schedule else {
            for var waiting in runs where waiting.awaitsTick {
                waiting = Lifecycle.cancelled(waiting, reason: "schedule removed from the spec", now: now)
                put(waiting, "cancelled", "run \(waiting.run) cancelled: the schedule was removed")
            }
            return
        }
        guard var waiting = runs.first(where: \.awaitsTick) else {
            add(origin: nil, scheduledAfter: anchor)
            return
        }
        guard ticks, !schedule.suspend, let tick = schedule.previous(atOrBefore: now), tick > waiting.scheduledAfter! else { return }
        let at = tick.formatted(.iso8601)
        if let deadline = schedule.startingDeadline, now.timeIntervalSince(tick) > deadline.timeInterval {
            waiting.scheduledAfter = tick
            waiting.updatedAt = now
            let late = Duration.seconds(Int(now.timeIntervalSince(tick))).manifestDescription
            put(waiting, "tick-skipped", "skipped the tick at \(at): missed by \(late), more than startingDeadline \(deadline.manifestDescription)")
            return
        }
        let open = openRuns
        if !open.isEmpty {
            switch schedule.concurrencyPolicy {
            case .forbid:
                waiting.scheduledAfter = tick
                waiting.updatedAt = now
                put(waiting, "tick-skipped", "skipped the tick at \(at): run \(open[0].run) is still \(open[0].state.rawValue) (concurrencyPolicy Forbid)")
                return
            case .replace:
                for run in open {
                    let ended = Lifecycle.cancelled(run, reason: "replaced by run \(waiting.run) for the tick at \(at) (concurrencyPolicy Replace)", now: now)
                    put(ended, "cancelled", ended.lastReason!)
                }
            case .allow:
                break
            }
        }
        waiting.scheduledFor = tick
        waiting.origin = "schedule tick \(at)"
        waiting.updatedAt = now
        put(waiting, "tick", "run \(waiting.run) due for the tick at \(at)")
        add(origin: nil, scheduledAfter: tick)
    }

    /// A changed `spec.rerun` adds a run of the current generation (one not started yet takes
    /// the new value instead).
    mutating func followRerunField() {
        guard let token = job.spec.rerun, var latest = latestRun, latest.rerunToken != token else { return }
        if latest.state == .pending && latest.attempt == 0 {
            latest.rerunToken = token
            byKey[latest.key] = latest
            changed.insert(latest.key)
        } else {
            add(origin: "spec.rerun changed to '\(token)'")
        }
    }

    /// A dependency ran again since the job's latest run started after it: the job runs again
    /// (the new run waits for the dependency to succeed).
    mutating func followDependencies(_ upstream: String) {
        guard let latest = latestRun, latest.state.isTerminal, let before = latest.upstream, before != upstream else { return }
        add(origin: "a dependency ran again (now \(upstream), was \(before))")
    }

    /// Takes up one request: a rerun queues a run; a cancel ends every open run.
    mutating func take(_ request: JobRequest) -> JobRequest {
        var done = request
        done.handledAt = now
        switch request.kind {
        case .rerun:
            let run = add(origin: request.summary)
            done.outcome = "run \(run.run) queued"
        case .cancel:
            let open = openRuns
            guard !open.isEmpty else {
                done.outcome = latestRun.map { "nothing to cancel: run \($0.run) is \($0.state.rawValue)" } ?? "nothing to cancel"
                return done
            }
            for run in open {
                let was = run.state == .pending ? "waiting" : "\(run.state.rawValue), attempt \(run.attempt)"
                let ended = Lifecycle.cancelled(run, reason: "cancelled by \(request.requestedBy)" + (request.reason.map { ": \($0)" } ?? ""), now: now)
                put(ended, "cancelled", "run \(run.run) (\(was)) \(ended.lastReason!)")
            }
            done.outcome = "cancelled " + open.map { "run \($0.run)" }.joined(separator: ", ")
        }
        return done
    }
}
