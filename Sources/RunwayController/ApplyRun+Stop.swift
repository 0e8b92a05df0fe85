import Foundation
import RunwayLaunchers
import RunwayModel
import RunwayPlanner
import RunwayStore

extension ApplyRun {
    /// The end of a cancelled (Ctrl-C) or failed run: every task of the directory's jobs is
    /// stopped (SIGTERM, then SIGKILL after the grace), whatever else fails. Tasks come from
    /// each platform's listing and from what this run started (so a platform that cannot be
    /// listed still has its tasks stopped by their handles); each stop is retried with backoff
    /// until `stopTimeout`, its attempt settled as cancelled when the store answers, and a stop
    /// the store cannot record goes straight to the platform. Unfinished jobs are recorded as
    /// cancelled, as far as the store allows; what could not be stopped is named in the result.
    func stopEverything(desired: DesiredState, jobs: Set<String>, failure: (any Error)?) async -> Result {
        if failure == nil { logger.notice("cancelling: stopping every task of this directory's jobs") }
        let clock = ContinuousClock()
        let end = clock.now + settings.stopTimeout
        var cancelledDesired = desired
        cancelledDesired.jobs = [:]  // every stop settles its attempt as cancelled
        // Starts still being carried out end first (a moment), so their tasks are known.
        if !(await reconciler.queue.settle(within: min(settings.stopTimeout / 4, .seconds(10)))) {
            logger.warning("some starts and stops are still in flight; stopping what is known", metadata: [
                "in.flight": "\(reconciler.queue.inFlight)",
            ])
        }
        // Each round lists the platforms not listed yet (a task whose start answer was lost is
        // found only there) and stops what is known; both retried with backoff until `end`.
        var unlisted = reconciler.launchers.plugins
        var remaining = reconciler.startedTasks.all.filter { jobs.contains($0.owner?.job ?? "") }
        var stopped: Set<String> = []
        var delay = Duration.milliseconds(500)
        while true {
            let (listed, failing) = await listTasks(of: unlisted, jobs: jobs, until: end)
            unlisted = failing
            for task in listed where !stopped.contains(task.name) && !remaining.contains(where: { $0.name == task.name }) {
                remaining.append(task)
            }
            let left = await stopRound(remaining.sorted { $0.name < $1.name }, desired: cancelledDesired, until: end)
            stopped.formUnion(Set(remaining.map(\.name)).subtracting(left.map(\.name)))
            remaining = left
            guard !remaining.isEmpty || !unlisted.isEmpty, clock.now + delay < end else { break }
            logger.warning("some tasks are not stopped yet, or some platforms not listed; trying again", metadata: [
                "tasks": "\(remaining.map(\.name))", "unlisted": "\(unlisted)", "retry.in": "\(delay)",
            ])
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
        for task in remaining {
            logger.error("could not stop a task this run started", metadata: ["task": "\(task.name)", "plugin": "\(task.plugin)"])
        }
        for plugin in unlisted {
            logger.error("could not list the platform's tasks: a task whose start never answered may be left", metadata: ["plugin": "\(plugin)"])
        }
        let reason = failure == nil ? "cancelled by the operator" : "cancelled: the run failed (\(failure!))"
        do {
            try await withDeadline(max(end - clock.now, .seconds(5)), "recording the cancelled jobs") {
                try await recordCancelled(jobs: jobs, reason: reason)
            }
        } catch {
            logger.error("could not record the jobs as cancelled", metadata: ["error": "\(error)"])
        }
        let records = (try? await withDeadline(.seconds(5), "reading the job records") { try await reconciler.store.jobRecords() }) ?? []
        return Result(
            records: currentRecords(records, desired: desired, jobs: jobs), cancelled: failure == nil,
            failure: failure.map { "\($0)" }, unstopped: remaining, unlisted: unlisted)
    }

    /// The tasks of `jobs` on each of `plugins` (at most 5 s per listing), and the plugins whose
    /// listing failed.
    private func listTasks(of plugins: [String], jobs: Set<String>, until end: ContinuousClock.Instant) async -> ([ObservedTask], [String]) {
        let reconciler = self.reconciler
        var tasks: [ObservedTask] = []
        var failing: [String] = []
        for plugin in plugins {
            guard let launcher = reconciler.launchers[plugin] else { continue }
            do {
                let limit = min(end - ContinuousClock.now, .seconds(5))
                let listed = try await withDeadline(max(limit, .seconds(1)), "listing \(plugin) tasks") {
                    try await launcher.listTasks(managedBy: reconciler.configuration.controllerID)
                }
                tasks += listed.filter { jobs.contains($0.owner?.job ?? "") }
            } catch {
                logger.warning("cannot list tasks; stopping the ones this run started by their handles, and listing again", metadata: [
                    "plugin": "\(plugin)", "error": "\(error)",
                ])
                failing.append(plugin)
            }
        }
        return (tasks, failing)
    }

    /// Tries to stop each task once, side by side; returns the ones still not stopped.
    private func stopRound(_ tasks: [ObservedTask], desired: DesiredState, until end: ContinuousClock.Instant) async -> [ObservedTask] {
        let reconciler = self.reconciler
        let logger = self.logger
        return await withTaskGroup(of: ObservedTask?.self) { group in
            for task in tasks {
                group.addTask {
                    let limit = max(end - ContinuousClock.now, .seconds(1))
                    do {
                        try await withDeadline(limit, "stopping \(task.name)") {
                            try await reconciler.stop(PlanAction.Stop(task: task, reason: .jobRemoved), desired: desired)
                        }
                        return nil
                    } catch {
                        logger.warning("stop failed", metadata: ["task": "\(task.name)", "error": "\(error)"])
                    }
                    // The store may be what failed: stop the task on its platform all the same.
                    guard let launcher = reconciler.launchers[task.plugin] else { return task }
                    let handle = TaskHandle(task, config: task.owner.flatMap { desired.profiles[$0.profile]?.config })
                    do {
                        try await withDeadline(max(end - ContinuousClock.now, .seconds(1)), "stopping \(task.name)") {
                            try await launcher.stopTask(handle)
                        }
                        reconciler.startedTasks.stopped(task, leftOutUntil: Date().addingTimeInterval(30))
                        return nil
                    } catch {
                        logger.warning("stop failed", metadata: ["task": "\(task.name)", "error": "\(error)"])
                        return task
                    }
                }
            }
            var left: [ObservedTask] = []
            for await task in group { if let task { left.append(task) } }
            return left.sorted { $0.name < $1.name }
        }
    }

    /// Every unfinished job of `jobs` is cancelled, its open attempt failed with `reason`.
    private func recordCancelled(jobs: Set<String>, reason: String) async throws {
        let now = Date()
        for record in try await reconciler.store.jobRecords() where jobs.contains(record.job) && !record.state.isTerminal {
            try await reconciler.store.modify(.job(record.key)) { attempt, fresh in
                guard let fresh, !fresh.state.isTerminal else { return (StoreChange(), ()) }
                let cancelled = Lifecycle.cancelled(fresh, reason: reason, now: now)
                var change = StoreChange(records: [cancelled], events: [
                    JobEvent(cancelled, attempt: fresh.attempt, at: now, kind: "cancelled", message: reason)
                ])
                if var attempt, attempt.isOpen {
                    attempt.state = .failed
                    attempt.reason = reason
                    change.attempts.append(attempt)
                }
                return (change, ())
            }
        }
    }
}
