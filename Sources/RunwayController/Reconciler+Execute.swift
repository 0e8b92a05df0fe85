import Foundation
import RunwayLaunchers
import RunwayModel
import RunwayPlanner
import RunwayStore

extension Reconciler {
    /// Hands the plan's stops and starts to the action queue and returns: each runs in the
    /// background (`parallelism` at a time per plugin), one failed action is recorded and logged
    /// and never keeps the others from running. A start on a profile with `maxConcurrent` waits
    /// for this pass's stops of that profile, so the platform never holds more live tasks than
    /// the limit, not even for a moment.
    func execute(_ plan: Plan, desired: DesiredState, records: [JobRecord], now: Date) {
        let byKey = Dictionary(records.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var stopsByProfile: [String: [Task<Void, Never>]] = [:]
        // A stop that finished after this pass observed its task is not carried out twice.
        for stop in plan.stops where !startedTasks.isStopping(stop.task.name) {
            let work = queue.dispatch(stop.task.name, plugin: stop.task.plugin, done: afterAction) {
                await self.carryOut(.stop(stop)) { try await self.stop(stop, desired: desired) }
            }
            if let work, let profile = stop.task.owner?.profile { stopsByProfile[profile, default: []].append(work) }
        }
        for start in plan.starts {
            guard let profile = desired.profiles[start.profile] else { continue }
            let name = start.owner.taskName()
            let standIn = ObservedTask(
                id: "", name: name, plugin: profile.plugin,
                labels: TaskLabels.labels(controllerID: configuration.controllerID, owner: start.owner), state: .pending)
            let record = byKey[start.key]
            let waitFor = profile.maxConcurrent == nil ? [] : stopsByProfile[start.profile] ?? []
            queue.dispatch(name, plugin: profile.plugin, starting: standIn, after: waitFor, done: afterAction) {
                await self.carryOut(.start(start)) { try await self.start(start, desired: desired, record: record) }
            }
        }
    }

    /// Runs one action, logging and counting its failure.
    private func carryOut(_ action: PlanAction, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch let refusal as FencedError {
            refused(refusal)
        } catch {
            metrics.reconcileFailed()
            logger.error("action failed", metadata: ["action": "\(action)", "error": "\(error)"])
        }
    }

    /// StopJob: settle the task's attempt with the stop's reason first (so the runner's own
    /// report of being killed cannot replace "timed-out" with "signal 15"), then stop the task.
    func stop(_ planned: PlanAction.Stop, desired: DesiredState) async throws {
        let owner = planned.task.owner
        let handle = TaskHandle(planned.task, config: owner.flatMap { desired.profiles[$0.profile]?.config })
        var stop = planned
        if stop.reason == .finished, stop.task.reason == nil, let launcher = launchers[stop.task.plugin] {
            // Still running when observed: ask how its job ended before the task is gone.
            stop.task.reason = await launcher.platformReason(handle)
        }
        let final = stop
        try await stopSettled(final, handle: handle, desired: desired)
    }

    private func stopSettled(_ stop: PlanAction.Stop, handle: TaskHandle, desired: DesiredState) async throws {
        let owner = stop.task.owner
        let attemptID = owner.map { AttemptRecord.id(job: $0.job, generation: $0.generation, run: $0.run, number: $0.attempt) }
        let requestedAt = Date()
        let settlement = Settlement(backoff: configuration.backoff)
        let jitter = Double.random(in: 0..<1)
        if let owner {
            let authority = self.authority
            try await store.modify(.job(owner.key)) { attempt, record in
                guard let record else { return (StoreChange(), ()) }
                var change = StoreChange(events: [
                    JobEvent(record, attempt: owner.attempt, at: requestedAt, kind: "stop-requested",
                        message: "stopping \(stop.task.name): \(stop.reason.rawValue)")
                ], fence: authority)
                if let settled = settlement.afterStop(stop, record: record, desired: desired, now: requestedAt, jitter: jitter) {
                    change.records.append(settled)
                    change.events.append(Transition.event(from: record, to: settled, at: requestedAt))
                    if var attempt, attempt.number == owner.attempt, attempt.isOpen {
                        attempt.state = .failed
                        attempt.reason = settled.lastReason
                        change.attempts.append(attempt)
                    }
                } else if let explained = settlement.withPlatformReason(stop, record: record), let platform = stop.task.reason {
                    // The runner reported a failure the platform can name (a job killed for memory).
                    change.records.append(explained)
                    change.events.append(JobEvent(
                        record, attempt: owner.attempt, at: requestedAt, kind: "platform-reason",
                        message: "\(stop.task.plugin) says of \(stop.task.name): \(platform)"))
                    if var attempt, attempt.number == owner.attempt {
                        attempt.reason = attempt.reason.map { "\($0) (\(platform))" } ?? platform
                        change.attempts.append(attempt)
                    }
                }
                return (change, ())
            }
        }
        if let attemptID {
            try await updateAttempt(attemptID) { $0.stopRequestedAt = $0.stopRequestedAt ?? requestedAt }
            holding.release(attempts: [attemptID])
        }
        guard let launcher = launchers[stop.task.plugin] else {
            throw LauncherError(.unavailable, plugin: stop.task.plugin, task: stop.task.name, "no launcher for this plugin")
        }
        try await measured(stop.task.plugin, "stop") {
            try await launcher.stopTask(handle)
        }
        // Still listed for a moment while the platform tears it down: not stopped again.
        startedTasks.stopped(stop.task, leftOutUntil: Date().addingTimeInterval(30))
        if stop.reason == .orphaned { metrics.orphanStopped() }
        let now = Date()
        if let attemptID, let owner {
            let event = JobEvent(
                job: owner.job, generation: owner.generation, run: owner.run, attempt: owner.attempt, at: now, kind: "stopped",
                message: "stopped \(stop.task.name)")
            try await updateAttempt(attemptID, events: [event]) { $0.stoppedAt = now }
        }
    }

    /// StartJob: record the attempt and hold the job (one transaction, only if the record is
    /// unchanged since the pass read it), then start the task.
    func start(_ start: PlanAction.Start, desired: DesiredState, record: JobRecord?) async throws {
        guard let job = desired.jobs[start.job], let profile = desired.profiles[start.profile] else { return }
        // Deposed since the pass began (a write of it was refused): start nothing more.
        if let lease, let authority, lease.current?.token != authority.token { return }
        var clock = PhaseClock()
        let now = Date()
        let token = TaskToken.generate()
        let name = start.owner.taskName()
        var attempt = AttemptRecord(
            job: job.name, generation: job.generation, run: start.run, number: start.attempt, profile: profile.name, plugin: profile.plugin,
            retries: job.spec.retries, taskName: name, tokenHash: TaskToken.hash(token), requestedAt: now)
        // A resume (the attempt is held, its task missing from the listing) gives the task it
        // starts a new token, and keeps the first one valid: if the first task does exist (the
        // platform adopts it by name, or a listing missed it), its runner still claims the job.
        // Either way the attempt is claimed once.
        var aliases: [String: String] = [:]
        if start.reason == .resume, let previous = try await store.attempt(id: attempt.id), previous.isOpen {
            attempt.requestedAt = previous.requestedAt
            aliases[previous.tokenHash] = attempt.id
        }
        let held: JobRecord = {
            var held = Lifecycle.held(record ?? Lifecycle.queued(job, run: start.run, now: now), attempt: start.attempt, now: now)
            if start.upstream != nil { held.upstream = start.upstream }
            return held
        }()
        let recorded = try await write(held.key, ifStill: record) { [attempt, aliases] _ in
            var change = StoreChange(records: [held], attempts: [attempt], events: [
                JobEvent(held, attempt: start.attempt, at: now, kind: "held",
                    message: "attempt \(start.attempt) held for its runner (\(start.reason.detail))"),
                JobEvent(held, attempt: start.attempt, at: now, kind: "start-requested", message: "starting \(name) on \(profile.plugin)"),
            ])
            change.tokenAliases = aliases
            return change
        }
        clock.lap("write")
        guard recorded else { return }  // the record moved on since this pass read it: the next pass decides
        holding.hold(payload(for: job, run: start.run, attempt: start.attempt))
        holding.allowToken(hash: attempt.tokenHash, attemptID: attempt.id)
        let handle: TaskHandle
        let labels: [String: String]
        do {
            guard let launcher = launchers[profile.plugin] else {
                throw LauncherError(.unavailable, plugin: profile.plugin, task: name, "no launcher for this plugin")
            }
            let spec = try taskSpec(
                name: name, owner: start.owner, attempt: attempt, token: token, profile: profile, timeout: job.spec.timeout,
                jobImage: job.spec.image)
            labels = spec.labels
            handle = try await measured(profile.plugin, "start") { try await launcher.startTask(spec) }
        } catch {
            // The task never reached the platform: the attempt fails now, with the cause.
            holding.release(attempts: [attempt.id])
            let failedAt = Date()
            let settled = Lifecycle.failed(
                held, retries: job.spec.retries, reason: "start failed: \(error)", now: failedAt, backoff: configuration.backoff,
                jitter: Double.random(in: 0..<1))
            var ended = attempt
            ended.state = .failed
            ended.reason = settled.lastReason
            let failed = ended
            try await write(held.key, ifStill: held) { _ in
                StoreChange(records: [settled], attempts: [failed], events: [Transition.event(from: held, to: settled, at: failedAt)])
            }
            throw error
        }
        clock.lap("launch")
        // The task runs. Its start is written down when the store takes it; when it does not (the
        // store is down), the attempt stays held with its job for the runner, which claims it,
        // and the passes see the task: a failed write here is logged, never a failed attempt.
        let startedAt = Date()
        startedTasks.started(
            ObservedTask(id: handle.id, name: name, plugin: profile.plugin, labels: labels, state: .pending, startedAt: startedAt),
            standInUntil: startedAt + profile.startTimeout.timeInterval + 5)
        let event = JobEvent(held, attempt: start.attempt, at: startedAt, kind: "task-started", message: "task \(name) started (\(handle.id))")
        try await updateAttempt(attempt.id, events: [event]) { started in
            started.taskID = handle.id
            started.startedAt = startedAt
            if started.state == .starting { started.state = .started }  // its runner may have claimed already
        }
        clock.lap("record")
        logger.debug("start phases", metadata: clock.metadata.merging(["task": .string(name)]) { a, _ in a })
    }

    private func taskSpec(
        name: String, owner: TaskOwner, attempt: AttemptRecord, token: String, profile: RunnerProfile, timeout: Duration?,
        jobImage: String?
    ) throws
        -> TaskSpec
    {
        var environment = profile.environment
        environment[TaskEnvironment.serverURL] = configuration.serverURL
        environment[TaskEnvironment.token] = token
        environment[TaskEnvironment.taskID] = attempt.id
        if let serverCA = configuration.serverCA { environment[TaskEnvironment.serverCA] = serverCA }
        var spec = TaskSpec(
            name: name, labels: TaskLabels.labels(controllerID: configuration.controllerID, owner: owner), owner: owner,
            image: profile.image ?? configuration.image, arguments: ["runner"], environment: environment,
            secretEnvironment: try SecretResolver.resolve(profile.secretEnvironment, trust: launchers.trust), config: profile.config,
            deadline: timeout.map { $0 + profile.startTimeout })
        spec.platformSecrets = profile.secretEnvironment.filter { $0.value.platform != nil }
        spec.jobImage = jobImage
        return spec
    }
}
