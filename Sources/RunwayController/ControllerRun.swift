import CRunwaySystem
import Foundation
import Logging
import RunwayManifests
import RunwayModel
import RunwayPlanner
import RunwayStore
import Synchronization

/// `runway controller`: reconcile passes forever. A pass runs when the directory changes, when
/// the runner API reports something, when a deadline or backoff falls due, and at least every
/// `resync`. The directory is reloaded atomically: an invalid one is reported and the last good
/// desired state stays in force. Only the lease holder reconciles; a standby waits for the lease.
/// On shutdown it stops starting, leaves running jobs to their tasks, and hands the lease over.
public struct ControllerRun: Sendable {
    public struct Settings: Sendable {
        /// Longest time between passes, to catch drift made out of band. Default 30 seconds.
        public var resync: Duration = .seconds(30)

        public init() {}
    }

    let reconciler: Reconciler
    let lease: LeaderLease
    let settings: Settings
    /// Loads the directory after the changes the watcher noted (nil: none).
    let reload: @Sendable (ManifestChanges?) -> ManifestLoad
    let wakeups: Wakeups
    /// What the watcher saw change in the directory.
    let directoryChanges: ManifestChangeLog
    let shutdown: AtomicFlag
    let health: ControllerHealth
    let logger: Logger

    public init(
        reconciler: Reconciler, lease: LeaderLease, settings: Settings, reload: @escaping @Sendable (ManifestChanges?) -> ManifestLoad,
        wakeups: Wakeups, directoryChanges: ManifestChangeLog, shutdown: AtomicFlag, health: ControllerHealth,
        logger: Logger
    ) {
        self.reconciler = reconciler
        self.lease = lease
        self.settings = settings
        self.reload = reload
        self.wakeups = wakeups
        self.directoryChanges = directoryChanges
        self.shutdown = shutdown
        self.health = health
        self.logger = logger
    }

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await renewLease() }
            await reconcile()
            group.cancelAll()
        }
        // Withdraw the leader's address before handing over, never a successor's after.
        if lease.isLeader { try? await reconciler.store.publish(["leader": nil, "leader.url": nil]) }
        await lease.release()
        reconciler.metrics.setLeader(false)
        logger.notice("controller stopped; running jobs continue on their tasks and a restarted controller adopts them")
    }

    /// Keeps the lease renewed; after each renewal, reports the role, wakes the loop when it
    /// changed, and while leading publishes where it serves runners (`leader.url`), so a
    /// standby can send them there.
    private func renewLease() async {
        let wasLeader = AtomicFlag()
        await lease.keepRenewed { leading in
            health.leadership(isLeader: leading, leader: leading ? lease.holder : await lease.leader()?.holder)
            health.store(problem: lease.storeProblem)
            reconciler.metrics.setLeader(leading)
            if leading {
                try? await reconciler.store.publish(["leader": lease.holder, "leader.url": reconciler.configuration.advertiseURL])
            }
            if wasLeader.exchange(leading) != leading { wakeups.signal() }
        }
    }

    private func reconcile() async {
        var desired: DesiredState?
        // The jobs whose manifests changed since the last pass that succeeded (nil: unknown).
        var changedJobs: Set<String>?
        var lastDiagnostics: [Diagnostic] = []
        var lastResync = ContinuousClock.now - settings.resync
        var nextDeadline: Date?
        var woken = true  // something may have happened: a runner report, the first pass
        var wasLeader = false
        // A load's facts for `runway status`, written after the pass that follows it (a change's
        // pass need not wait for that write).
        var unpublished: ManifestLoad?
        while !shutdown.isSet {
            let resyncDue = ContinuousClock.now - lastResync >= settings.resync
            let changes = directoryChanges.take()
            let changed = changes != nil
            // A resync reads no file the watcher did not name (the full reload reads them all).
            if changed || resyncDue || desired == nil {
                let loadStarted = ContinuousClock.now
                let load = reload(changes)
                reconciler.metrics.manifestsLoaded(seconds: (ContinuousClock.now - loadStarted).timeInterval)
                health.loaded(load.diagnostics, desired: load.isValid ? load.desired : nil, at: Date())
                reconciler.metrics.setManifestErrors(load.diagnostics.filter { $0.severity == .error }.count)
                if load.diagnostics != lastDiagnostics { report(load) }
                lastDiagnostics = load.diagnostics
                if load.isValid {
                    desired = load.desired
                    changedJobs = changedJobs.flatMap { before in load.changedJobs.map { before.union($0) } }
                }
                unpublished = load
            }
            if resyncDue { lastResync = ContinuousClock.now }
            // A pass only when something may have changed: not on a bare lease renewal.
            let deadlineDue = nextDeadline.map { $0 <= Date() } ?? false
            let leading = lease.isLeader
            let becameLeader = leading && !wasLeader
            wasLeader = leading
            if leading, let desired, woken || changed || resyncDue || deadlineDue || becameLeader {
                // A new leader reads every record and looks at every job: another one led since
                // this one last did.
                if becameLeader { reconciler.recordBook.readEverythingNext() }
                do {
                    let outcome = try await reconciler.pass(
                        desired: desired, changedJobs: becameLeader ? nil : changedJobs, allowStarts: !shutdown.isSet, isolatingPlatforms: true)
                    changedJobs = []
                    // Every open run is among the records the pass looked at.
                    nextDeadline = Deadlines.next(
                        desired: outcome.desired, records: outcome.records, heartbeatTimeout: reconciler.configuration.heartbeatTimeout,
                        reachableSince: reconciler.reachableSince)
                } catch {
                    if error is StoreError { health.store(problem: "\(error)") }  // until a lease renewal reaches it again
                    if !(error is FencedError) { logger.error("reconcile pass failed", metadata: ["error": "\(error)"]) }
                    nextDeadline = Date().addingTimeInterval(1)
                }
            }
            if let load = unpublished {
                await publish(load)
                unpublished = nil
            }
            // Going idle (nothing due within a second): the store's caches and the heap's free
            // pages are handed back, so a burst of work does not stay resident while it idles.
            let wait = sleepTime(until: nextDeadline, lastResync: lastResync)
            if wait >= .seconds(1) {
                reconciler.store.releaseMemory()
                runway_release_free_memory()
            }
            woken = await wakeups.wait(upTo: wait)
        }
        // Starts and stops handed over before the shutdown end first (within the grace period,
        // which ends the process regardless).
        _ = await reconciler.queue.settle(within: .seconds(3600))
    }

    private func sleepTime(until deadline: Date?, lastResync: ContinuousClock.Instant) -> Duration {
        var wait = settings.resync - (ContinuousClock.now - lastResync)
        if let deadline {
            let seconds = max(0, deadline.timeIntervalSinceNow) + 0.01
            wait = min(wait, .milliseconds(Int64(seconds * 1000)))
        }
        return max(wait, .milliseconds(20))
    }

    private func report(_ load: ManifestLoad) {
        if load.isValid {
            logger.notice("manifests loaded", metadata: ["jobs": "\(load.desired.jobs.count)", "profiles": "\(load.desired.profiles.count)"])
        } else {
            logger.error("manifests are invalid; the last good desired state stays in force",
                metadata: ["errors": "\(load.diagnostics.filter { $0.severity == .error }.count)"])
            for diagnostic in load.diagnostics { logger.error("\(diagnostic)") }
        }
    }

    /// What `runway status` shows in its banner.
    private func publish(_ load: ManifestLoad) async {
        let errors = load.diagnostics.filter { $0.severity == .error }
        let facts: [String: String?] = [
            "manifests.valid": load.isValid ? "true" : "false",
            "manifests.errors": errors.isEmpty ? nil : errors.map(\.description).joined(separator: "\n"),
            "manifests.checked-at": Date().formatted(.iso8601),
        ]
        try? await reconciler.store.publish(facts)
    }
}

