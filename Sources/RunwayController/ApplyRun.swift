import Foundation
import Logging
import RunwayManifests
import RunwayModel
import RunwayPlanner
import RunwayStore
import Synchronization

/// `runway apply`: reconcile passes until every job of the directory has finished and every
/// task started for it has been stopped. The directory is re-read each pass (a removed job is
/// cancelled); a directory that turns invalid keeps the last good desired state.
public struct ApplyRun: Sendable {
    public struct Settings: Sendable {
        /// Longest wait between passes when nothing happens. Default 250 ms.
        public var tick: Duration = .milliseconds(250)
        /// How long the run keeps trying to stop what it started, once cancelled or failed,
        /// before it names the tasks it could not stop. Default 60 s.
        public var stopTimeout: Duration = .seconds(60)
        /// How long passes that keep failing (a platform or the store not answering) are
        /// retried before the run gives up and stops what it started. Default 30 s.
        public var failureTimeout: Duration = .seconds(30)

        public init() {}
    }

    let reconciler: Reconciler
    let settings: Settings
    let reload: @Sendable () -> ManifestLoad
    let wakeups: Wakeups
    let cancellation: AtomicFlag
    let logger: Logger
    /// Told once when another controller holds the lease and this run waits for it.
    let onWaitForLease: @Sendable (Lease?) -> Void

    public init(
        reconciler: Reconciler, settings: Settings = Settings(), reload: @escaping @Sendable () -> ManifestLoad, wakeups: Wakeups,
        cancellation: AtomicFlag, logger: Logger, onWaitForLease: @escaping @Sendable (Lease?) -> Void = { _ in }
    ) {
        self.onWaitForLease = onWaitForLease
        self.reconciler = reconciler
        self.settings = settings
        self.reload = reload
        self.wakeups = wakeups
        self.cancellation = cancellation
        self.logger = logger
    }

    /// The end of a run: the records of the directory's jobs, whether it was cancelled, the
    /// error that ended it early, and the tasks it could not stop.
    public struct Result: Sendable {
        public var records: [JobRecord]
        public var cancelled: Bool
        public var failure: String?
        public var unstopped: [ObservedTask] = []
        /// Platforms that could not be listed at the end: a task whose start never answered
        /// may be left there.
        public var unlisted: [String] = []
        /// The scheduled jobs (apply starts none), with their next run time.
        public var scheduled: [(job: String, next: Date?)] = []
        public var allSucceeded: Bool {
            !cancelled && failure == nil && unstopped.isEmpty && unlisted.isEmpty && records.allSatisfy { $0.state == .succeeded }
        }
    }

    public func run(initial: DesiredState, onPass: @Sendable (Reconciler.Outcome, DesiredState) -> Void) async throws -> Result {
        if let lease = reconciler.lease {
            // Another controller leads this state (or a dead one's lease has not expired yet):
            // wait for it, as a standby would, unless cancelled.
            var told = false
            while !(await lease.refresh()) {
                if cancellation.isSet { throw NotLeaderError(leader: await lease.leader()) }
                if !told {
                    let leader = await lease.leader()
                    logger.notice("waiting for the lease", metadata: ["leader": "\(leader?.holder ?? "?")"])
                    onWaitForLease(leader)
                    told = true
                }
                await wakeups.wait(upTo: .milliseconds(500))
            }
        }
        let renewal = reconciler.lease.map { lease in Task { await lease.keepRenewed() } }
        defer { renewal?.cancel() }
        let result = try await loop(initial: initial, onPass: onPass)
        renewal?.cancel()
        await reconciler.lease?.release()
        return result
    }

    private func loop(initial: DesiredState, onPass: @Sendable (Reconciler.Outcome, DesiredState) -> Void) async throws -> Result {
        var desired = initial
        var everJobs = Set(initial.jobs.keys)
        var failingSince: ContinuousClock.Instant?
        var retryDelay = Duration.milliseconds(500)
        while true {
            if cancellation.isSet { return await stopEverything(desired: desired, jobs: everJobs, failure: nil) }
            let load = reload()
            if load.isValid {
                desired = load.desired
                everJobs.formUnion(desired.jobs.keys)
            } else {
                logger.warning("manifests are invalid; keeping the last good desired state",
                    metadata: ["errors": "\(load.diagnostics.filter { $0.severity == .error }.count)"])
            }
            let outcome: Reconciler.Outcome
            do {
                // Ctrl-C during a pass (a platform call hanging) stops waiting for it at once.
                guard let passed = try await passUnlessCancelled(desired: desired) else { continue }
                outcome = passed
            } catch where error is NotLeaderError || error is FencedError {
                // The lease lapsed (the store was slow or away): take it again first.
                logger.warning("not holding the lease; taking it again before the next pass", metadata: ["error": "\(error)"])
                await reconciler.lease?.refresh()
                await wakeups.wait(upTo: settings.tick)
                continue
            } catch {
                // A listing, the store, a pass: retried with backoff for a while; then, whatever
                // failed, nothing started is left running.
                let since = failingSince ?? ContinuousClock.now
                failingSince = since
                if ContinuousClock.now - since + retryDelay < settings.failureTimeout {
                    logger.warning("pass failed; trying again", metadata: ["error": "\(error)", "retry.in": "\(retryDelay)"])
                    await wakeups.wait(upTo: retryDelay)
                    retryDelay = min(retryDelay * 2, .seconds(5))
                    continue
                }
                logger.error("the run failed; stopping every task it started", metadata: ["error": "\(error)"])
                return await stopEverything(desired: desired, jobs: everJobs, failure: error)
            }
            failingSince = nil
            retryDelay = .milliseconds(500)
            onPass(outcome, desired)
            if isDone(outcome, desired: desired, jobs: everJobs) {
                var result = Result(records: currentRecords(outcome.records, desired: desired, jobs: everJobs), cancelled: false)
                result.scheduled = Self.scheduled(desired, records: outcome.records)
                return result
            }
            await wakeups.wait(upTo: settings.tick)
        }
    }

    /// Every job of the directory (but the scheduled ones, which apply does not start) is
    /// final or blocked by a failed dependency, no run of theirs is left to start, and no task
    /// of theirs is left.
    private func isDone(_ outcome: Reconciler.Outcome, desired: DesiredState, jobs: Set<String>) -> Bool {
        let unscheduled = jobs.filter { desired.jobs[$0]?.spec.schedule == nil }
        let records = currentRecords(outcome.records, desired: desired, jobs: unscheduled)
        // Held back for good in this run: by a failed dependency, or by a scheduled one (which
        // apply does not start).
        let blocked = Set(outcome.plan.waits.compactMap { wait -> String? in
            switch wait.reason {
            case .blocked: wait.job
            case .dependency(let job, _) where desired.jobs[job]?.spec.schedule != nil: wait.job
            default: nil
            }
        })
        guard records.count == unscheduled.count, records.allSatisfy({ $0.state.isTerminal || blocked.contains($0.job) }) else { return false }
        let open = outcome.records.contains { unscheduled.contains($0.job) && !$0.state.isTerminal && !blocked.contains($0.job) }
        let ours = outcome.observed.filter { jobs.contains($0.owner?.job ?? "") }
        return !open && ours.isEmpty && outcome.plan.changesNothing && outcome.actionsInFlight == 0
    }

    /// The record of each unscheduled job's current run (its current generation's latest; a
    /// removed job: its latest record).
    func currentRecords(_ records: [JobRecord], desired: DesiredState, jobs: Set<String>) -> [JobRecord] {
        let byJob = Dictionary(grouping: records, by: \.job)
        return jobs.sorted().compactMap { name in
            if let job = desired.jobs[name] {
                guard job.spec.schedule == nil else { return nil }
                return byJob[name]?.filter { $0.generation == job.generation }.max { $0.run < $1.run }
            }
            return byJob[name]?.max { $0.updatedAt < $1.updatedAt }
        }
    }

    /// Each scheduled job with the time of its next run.
    static func scheduled(_ desired: DesiredState, records: [JobRecord]) -> [(job: String, next: Date?)] {
        let waiting = Dictionary(records.filter(\.awaitsTick).map { ($0.job, $0) }, uniquingKeysWith: { a, b in a.run > b.run ? a : b })
        return desired.jobs.values.filter { $0.spec.schedule != nil }.sorted { $0.name < $1.name }.map { job in
            let after = waiting[job.name]?.scheduledAfter ?? Date()
            return (job.name, job.spec.schedule!.suspend ? nil : job.spec.schedule!.next(after: after))
        }
    }

    /// One pass, unless the run is cancelled first: then nil at once, the pass left to end on
    /// its own.
    private func passUnlessCancelled(desired: DesiredState) async throws -> Reconciler.Outcome? {
        let reconciler = self.reconciler
        let wakeups = self.wakeups
        let outcome = Mutex<Swift.Result<Reconciler.Outcome, any Error>?>(nil)
        let pass = Task {
            let result = await Swift.Result(catching: { try await reconciler.pass(desired: desired, followsSchedules: false) })
            outcome.withLock { $0 = result }
            wakeups.signal()
        }
        while true {
            if let result = outcome.withLock({ $0 }) { return try result.get() }
            if cancellation.isSet {
                pass.cancel()
                return nil
            }
            await wakeups.wait(upTo: .milliseconds(100))
        }
    }
}
