import Foundation
import Logging
import RunwayLaunchers
import RunwayMetrics
import RunwayModel
import RunwayPlanner
import RunwayStore
import Synchronization

/// One reconcile pass: observe every launcher, record new generations, settle what the world
/// says, plan, and carry out the plan's starts and stops with bounded parallelism.
/// Level-based: each pass lists every platform and brings the job records up to date from
/// the store (only those written since the last read; all of them every `fullReload`).
public struct Reconciler: Sendable {
    public let configuration: ControllerConfiguration
    let launchers: LauncherRegistry
    let store: any StateStore
    let holding: any JobHolding
    let logger: Logger
    /// When set, only its holder reconciles, and each write of a pass is fenced by its token.
    public let lease: LeaderLease?
    let metrics: RunwayMetrics
    /// The last wait reason written per job, so an unchanged one is not written every pass.
    let waits = WaitMemory()
    /// When the runners' tokens were last read: by a full pass, else at most every 10 s.
    let tokenReads = Pacing(every: .seconds(10))
    /// The tasks this controller started and has not stopped (standing in for those a listing
    /// does not show yet).
    let startedTasks = StartedTasks()
    /// The lease a pass acts under (set for the pass when there is a lease): every write of the
    /// pass is fenced by it, so a controller that lost the lease mid-pass (paused, cut off)
    /// writes nothing and starts nothing.
    var authority: Lease?
    /// Runs first in every pass: the runner API records the reports it kept while the store
    /// was away, so no pass judges an attempt whose report has arrived, and writes the
    /// heartbeats it noted, returning them (attempt id → time) for the record book, which the
    /// store does not tell of them. Default: nothing.
    public var beforePass: @Sendable () async throws -> [String: Date] = { [:] }
    /// Runs after each start or stop the queue carried out (the controller wakes for a pass).
    public var afterAction: @Sendable () -> Void = {}
    /// Where the passes' starts and stops run, in the background.
    let queue: ActionQueue
    /// Each platform's listing, kept across passes (a slow one does not hold a pass up).
    let listings = Listings()
    /// The job records, kept across passes: a pass reads only those written since the last.
    let recordBook: RecordBook
    /// What focused passes keep between them (see ``Focus``).
    let focusMemory = FocusMemory()
    /// When this controller was made: with no lease, runners could reach it from then on.
    let createdAt = Date()

    /// Starts and stops still being carried out in the background.
    public var actionsInFlight: Int { queue.inFlight }

    /// Since when runners could reach this controller: since it began to lead, or started. No
    /// runner is judged silent or late for the time before, when no controller answered it.
    public var reachableSince: Date { lease?.leadingSince ?? createdAt }

    public init(
        configuration: ControllerConfiguration, launchers: LauncherRegistry, store: any StateStore, holding: any JobHolding,
        lease: LeaderLease? = nil, metrics: RunwayMetrics = RunwayMetrics(), logger: Logger
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.launchers = launchers
        self.store = store
        self.holding = holding
        self.lease = lease
        self.logger = logger
        self.queue = ActionQueue(parallelism: configuration.parallelism)
        self.recordBook = RecordBook(fullReload: configuration.fullReload)
    }

    /// What one pass saw and did.
    public struct Outcome: Sendable {
        public var plan: Plan
        /// The jobs the pass looked at (every job in a full pass), with every profile.
        public var desired: DesiredState
        /// The records of the jobs the pass looked at (every record in a full pass): every open
        /// run's among them.
        public var records: [JobRecord]
        public var observed: [ObservedTask]
        /// Starts and stops still being carried out (of this pass or earlier ones).
        public var actionsInFlight: Int
    }

    /// Runs one pass against `desired`; `allowStarts: false` stops and settles but starts nothing;
    /// `followsSchedules: false` (`apply`) starts no run for a schedule's tick.
    /// With `isolatingPlatforms`, a platform whose tasks cannot be listed is left alone for the
    /// pass (its jobs wait, nothing of it is settled, started or stopped) while the others are
    /// reconciled; without, the pass fails.
    /// `changedJobs`: the jobs whose manifests may have changed since the last pass; given, the
    /// pass looks only at those and the live ones (see ``Focus``), else at every job.
    public func pass(
        desired: DesiredState, changedJobs: Set<String>? = nil, now: Date = Date(), allowStarts: Bool = true,
        isolatingPlatforms: Bool = false, followsSchedules: Bool = true
    ) async throws -> Outcome {
        let started = ContinuousClock.now
        var acting = self
        if let lease {
            guard let current = lease.current else { throw NotLeaderError(leader: await lease.leader()) }
            acting.authority = current
        }
        do {
            let outcome = try await acting.reconcile(
                desired: desired, changedJobs: changedJobs, now: now, allowStarts: allowStarts, isolatingPlatforms: isolatingPlatforms,
                followsSchedules: followsSchedules)
            let elapsed = ContinuousClock.now - started
            metrics.reconciled(seconds: elapsed.timeInterval)
            return outcome
        } catch let refusal as FencedError {
            focusMemory.passFailed()
            refused(refusal)
            throw refusal
        } catch {
            metrics.reconcileFailed()
            focusMemory.passFailed()
            throw error
        }
    }

    /// The store refused a write of this pass: another controller leads. Counted, logged, and
    /// this controller stands down at once.
    func refused(_ refusal: FencedError) {
        metrics.fencedWrite()
        lease?.stepDown(after: refusal)
    }

    /// `change` fenced by the pass's lease (unchanged outside a pass).
    func fenced(_ change: StoreChange) -> StoreChange {
        var change = change
        change.fence = authority
        return change
    }

    /// `runway_jobs` and `runway_tasks` from what a pass saw.
    private func report(_ outcome: Outcome, desired: DesiredState, focus: Set<String>?) {
        metrics.setJobs(focusMemory.jobStates(desired: desired, records: outcome.records, focus: focus))
        var tasks: [[String]: Int] = [:]
        let stopped = Set(outcome.plan.stops.map(\.task.id))
        for task in outcome.observed where !stopped.contains(task.id) {
            tasks[[task.owner?.profile ?? "", task.state.rawValue], default: 0] += 1
        }
        metrics.setTasks(tasks)
    }

    private func reconcile(
        desired everything: DesiredState, changedJobs: Set<String>?, now: Date, allowStarts: Bool, isolatingPlatforms: Bool,
        followsSchedules: Bool
    ) async throws -> Outcome {
        var clock = PhaseClock()
        let heartbeats = try await beforePass()
        // Every full pass, at most every 10 s otherwise, and at once after leadership changed hands.
        if tokenReads.due(always: changedJobs == nil) || !holding.tokensLoaded { try await reloadTokens() }
        clock.lap("tokens")
        let (observed, unlisted) = try await observe(isolating: isolatingPlatforms)
        clock.lap("observe")
        let readStartedAt = ContinuousClock.now
        try await recordBook.read(from: store)
        recordBook.noteHeartbeats(heartbeats)
        let requests = try await store.openRequests()
        clock.lap("records")
        // Starts still in flight stand in for their tasks: in the plan (they hold their slot, and
        // are not started twice) and, for the settlement, as tasks that exist (a runner may
        // connect before its start returns), which it must not adopt (the start records its
        // own attempt).
        let listed = Set(observed.map(\.name))
        let inFlight = launchers.plugins.filter { !unlisted.contains($0) }.flatMap { plugin in
            let starting = queue.starting(plugin: plugin, notIn: listed)
            let names = listed.union(starting.map(\.name))
            return starting + startedTasks.standIns(plugin: plugin, notIn: names, now: Date())
        }
        // The jobs this pass looks at: every one, or those that changed plus the live ones.
        let focus = focusMemory.focus(
            desired: everything, changedJobs: changedJobs, recordBook: recordBook, observed: observed + inFlight, requests: requests)
        // The focus's records as the book holds them now (every record in a full pass), taken
        // from the book again only after it changed.
        var taken: (version: Int, records: [JobRecord])?
        func current() -> [JobRecord] {
            guard let focus else { return recordBook.all }
            let version = recordBook.version
            if let taken, taken.version == version { return taken.records }
            let fresh = recordBook.records(of: focus)
            taken = (version, fresh)
            return fresh
        }
        // The focus's jobs (every job in a full pass): what the rest of the pass looks up.
        let focused = focus.map { Focus.restrict(everything, to: $0) } ?? everything
        var desired = focused
        var records = current()
        clock.lap(focus.map { "focus(\($0.count))" } ?? "focus(all)")
        try await queueRuns(
            desired: desired, records: records, requests: requests, now: now, followsTicks: followsSchedules, compacting: focus == nil)
        records = current()
        clock.lap("queue")
        // Jobs on a platform that could not be listed are out of this pass: not knowing their
        // tasks, it must neither call them lost nor start them again.
        let blind = Set(everything.profiles.values.filter { unlisted.contains($0.plugin) }.map(\.name))
        if !blind.isEmpty {
            desired = DesiredState(profiles: desired.profiles, jobs: desired.jobs.filter { !blind.contains($0.value.profile) })
            records = records.filter { !blind.contains($0.profile) }
        }
        // (A start that ended after the platform was observed is among the started tasks now.)
        try await settle(desired: desired, observed: observed, starting: inFlight, records: records, now: now)
        records = current()
        if !blind.isEmpty { records = records.filter { !blind.contains($0.profile) } }
        clock.lap("settle")
        let planner = Planner(heartbeatTimeout: configuration.heartbeatTimeout, reachableSince: reachableSince, queuesRuns: false)
        var plan = planner.plan(desired: desired, observed: observed + inFlight, records: records, now: now)
        if !allowStarts { plan = Plan(actions: plan.actions.filter { if case .start = $0 { false } else { true } }) }
        clock.lap("plan")
        try await recordWaits(plan, records: records, now: now)
        clock.lap("waits")
        execute(plan, desired: desired, records: records, now: now)
        // After the starts are handed over (none waits for it; a start holds its own job). Only
        // in a full pass: between them, every start holds its job and every end (a report, a
        // settlement, a stop, a cancel) releases its own, so a focused pass would find the same.
        if focus == nil {
            rehold(desired: focused, records: current(), readStartedAt: readStartedAt)
            clock.lap("rehold")
        }
        try await recordBook.read(from: store)
        let outcome = Outcome(
            plan: plan, desired: focused, records: current(), observed: observed + inFlight,
            actionsInFlight: queue.inFlight)
        clock.lap("reread")
        report(outcome, desired: focused, focus: focus)
        clock.lap("report")
        logger.debug("pass phases", metadata: clock.metadata)
        return outcome
    }

    /// Every task of ours on every platform.
    public func observe() async throws -> [ObservedTask] {
        try await observe(isolating: false).tasks
    }

    /// Every task of ours on every platform that answered; with `isolating`, the plugins that
    /// could not be listed are returned (and logged) instead of failing the whole observation.
    func observe(isolating: Bool) async throws -> (tasks: [ObservedTask], unlisted: Set<String>) {
        let launchers = self.launchers
        let controllerID = configuration.controllerID
        let listTimeout = configuration.listTimeout
        let list: @Sendable (String) async throws -> [ObservedTask] = { plugin in
            try await measured(plugin, "list") {
                try await withDeadline(listTimeout, "listing \(plugin) tasks") {
                    try await launchers.launchers[plugin]!.listTasks(managedBy: controllerID)
                }
            }
        }
        // Isolating (the controller): every platform listed at once, a slow one left out of
        // this pass. Otherwise (apply): each in turn, and any failure fails the pass.
        var results: [String: Result<[ObservedTask], any Error>] = [:]
        if isolating {
            results = await listings.collect(launchers.plugins, patience: configuration.listPatience, answered: afterAction, list: list)
        } else {
            for plugin in launchers.plugins { results[plugin] = .success(try await list(plugin)) }
        }
        var tasks: [ObservedTask] = []
        var unlisted = Set<String>()
        for plugin in launchers.plugins {
            switch results[plugin] {
            case .success(let listed):
                tasks += startedTasks.complete(listed, plugin: plugin, now: Date())
            case .failure(let error):
                unlisted.insert(plugin)
                if !(error is Listings.StillListing) { metrics.reconcileFailed() }
                logger.error(
                    "cannot list tasks; the jobs of this platform wait until it answers", metadata: ["plugin": "\(plugin)", "error": "\(error)"])
            case nil:
                unlisted.insert(plugin)
            }
        }
        return (tasks, unlisted)
    }

    private func settle(desired: DesiredState, observed: [ObservedTask], starting: [ObservedTask], records: [JobRecord], now: Date)
        async throws
    {
        let settlement = Settlement(backoff: configuration.backoff, reachableSince: reachableSince)
        let changes = settlement.settle(desired: desired, observed: observed, starting: starting, records: records, now: now) {
            Double.random(in: 0..<1)
        }
        guard !changes.isEmpty else { return }
        let before = Dictionary(records.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var ended = Set<String>()
        for record in changes {
            let previous = before[record.key]
            let event = Transition.event(from: previous, to: record, at: now)
            let wrote = try await write(record.key, ifStill: previous) { attempt in
                var change = StoreChange(records: [record], events: [event])
                // The attempt this settlement ended (not a new one it adopted).
                if var attempt, let previous, attempt.number == previous.attempt, previous.attempt == record.attempt,
                    attempt.isOpen, record.state != .held
                {
                    attempt.state = .failed
                    attempt.reason = record.lastReason
                    change.attempts.append(attempt)
                }
                return change
            }
            if wrote, let previous, previous.attempt > 0 {
                ended.insert(AttemptRecord.id(of: previous))
            }
        }
        holding.release(attempts: ended)
        try await recordBook.read(from: store)
    }

    /// Applies what `build` returns only if the job's record is still `expected` (nil: still
    /// absent), in one transaction, so a claim or report that landed since the pass read the
    /// record is never overwritten. Returns whether it wrote.
    @discardableResult
    func write(_ key: JobKey, ifStill expected: JobRecord?, _ build: @escaping @Sendable (AttemptRecord?) -> StoreChange)
        async throws -> Bool
    {
        let authority = self.authority
        let (wrote, current) = try await store.modify(.job(key)) { attempt, record -> (StoreChange, (Bool, JobRecord?)) in
            guard record == expected else { return (StoreChange(), (false, record)) }
            var change = build(attempt)
            change.fence = authority
            return (change, (true, nil))
        }
        // Not what the pass read: the book takes the record as it is now, for the next pass
        // (it may differ only by a heartbeat, which a read of the changed records does not bring).
        if !wrote, let current { recordBook.refresh(current) }
        return wrote
    }

    /// Changes one attempt in place, in one transaction (nothing when it does not exist).
    func updateAttempt(_ id: String, events: [JobEvent] = [], _ change: @escaping @Sendable (inout AttemptRecord) -> Void)
        async throws
    {
        let authority = self.authority
        try await store.modify(.id(id)) { attempt, _ in
            guard var attempt else { return (StoreChange(), ()) }
            change(&attempt)
            return (StoreChange(attempts: [attempt], events: events, fence: authority), ())
        }
    }

    /// Writes a `waiting` event when a job's reason to wait changes (for `runway explain`).
    private func recordWaits(_ plan: Plan, records: [JobRecord], now: Date) async throws {
        let byJob = Dictionary(grouping: records, by: \.job)
        // One reason per job: its first waiting run's (a scheduled job's run waiting for its tick
        // comes after the others).
        let messages = Dictionary(plan.waits.map { ($0.job, (run: $0.run, message: Transition.waitMessage($0))) }, uniquingKeysWith: { a, _ in a })
        let changed = waits.update(messages.mapValues(\.message))
        let events = changed.sorted().compactMap { job -> JobEvent? in
            let wait = messages[job]!
            guard let record = byJob[job]?.filter({ $0.run == wait.run }).max(by: { $0.updatedAt < $1.updatedAt }) else { return nil }
            return JobEvent(record, at: now, kind: "waiting", message: wait.message)
        }
        try await store.apply(fenced(StoreChange(events: events)))
        try await markBlocked(plan, records: records)
    }

    /// A run a failed or cancelled dependency holds back says so in its record (`status` shows
    /// it `blocked`, with the reason); one no longer held back by it loses the mark.
    private func markBlocked(_ plan: Plan, records: [JobRecord]) async throws {
        let open = Dictionary(grouping: records.filter { !$0.state.isTerminal }, by: \.job)
        for wait in plan.waits {
            guard let record = open[wait.job]?.first(where: { $0.run == wait.run }) else { continue }
            let blocked: String? = if case .blocked = wait.reason { wait.reason.detail } else { nil }
            guard blocked != nil || record.isBlocked, record.lastReason != blocked else { continue }
            var next = record
            next.lastReason = blocked
            let marked = next
            try await write(record.key, ifStill: record) { _ in StoreChange(records: [marked]) }
        }
    }

    /// Runs one launcher call, counting it by plugin, operation and outcome.
    func measured<T>(_ plugin: String, _ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            metrics.launcherRequest(plugin: plugin, operation: operation, succeeded: true)
            return result
        } catch {
            metrics.launcherRequest(plugin: plugin, operation: operation, succeeded: false)
            throw error
        }
    }
}
