import Foundation
import Logging
import RunwayMetrics
import RunwayModel
import RunwayPlanner
import RunwayStore

/// The runner side of the lifecycle, independent of HTTP: claim with the one-time token,
/// heartbeat, ordered log chunks, completion. Every check and write of one call is one store
/// transaction, so two claims of one token cannot both win.
public struct RunnerService: Sendable {
    /// Settings of the runner API. Every default is documented on its property.
    public struct Configuration: Sendable {
        /// How often runners heartbeat. Default 5 seconds.
        public var heartbeatInterval: Duration = .seconds(5)
        /// How long a heartbeat noted in memory may wait to be written (with the others noted
        /// meanwhile, in one transaction). Passes write them first too. Default 1 second.
        public var heartbeatFlushInterval: Duration = .seconds(1)
        /// Largest log chunk accepted. Default 256 KiB.
        public var maxLogChunkBytes: Int = 256 << 10
        /// Backoff between a failed attempt and its retry.
        public var backoff: Backoff = Backoff()
        /// How long a completed attempt's token still works, for a log chunk or a report its
        /// runner repeats (an answer lost on the way). After that it works for nothing. Default
        /// 60 seconds.
        public var completedGrace: Duration = .seconds(60)
        /// Most output kept per attempt. Past it the output is cut with a marker line, the job
        /// goes on, and the rest of its output is dropped. Default 100 MiB.
        public var maxOutputBytes: Int = 100 << 20

        public init() {}
    }

    public let configuration: Configuration
    let store: any StateStore
    let holding: HoldingSet
    let logs: LogFiles
    let logger: Logger
    let metrics: RunwayMetrics
    /// Called after every change the controller should react to (claim, completion).
    let onChange: @Sendable () -> Void
    /// Reports received while the store could not record them.
    let pending = PendingReports()
    /// Heartbeats noted in memory, not written yet.
    let heartbeats: HeartbeatBook

    public init(
        configuration: Configuration, store: any StateStore, holding: HoldingSet, logs: LogFiles, logger: Logger,
        metrics: RunwayMetrics = RunwayMetrics(), onChange: @escaping @Sendable () -> Void
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.store = store
        self.holding = holding
        self.logs = logs
        self.logger = logger
        self.onChange = onChange
        self.heartbeats = HeartbeatBook(flushInterval: configuration.heartbeatFlushInterval)
    }

    /// Hands the runner exactly the job its token was issued for, once. `claimID` (a runner's
    /// own random id, the same on each of its tries) makes the claim safe to repeat: a runner
    /// whose answer was lost (the leader died after recording the claim) gets its job again from
    /// the next leader; any other claim of a claimed attempt is refused.
    public func claim(token: String, claimID: String? = nil, now: Date = Date()) async throws -> ClaimedJob {
        let hash = TaskToken.hash(token)
        let holding = self.holding
        let (claimed, waits): (ClaimedJob, (queued: Double, start: Double)?) = try await store.modify(.tokenHash(hash)) { attempt, record in
            guard let attempt else { throw RunnerAPIError.unauthorized("unknown task token") }
            if attempt.state == .running, let claimID, attempt.claimID == claimID, attempt.tokenHash == hash,
                let record, record.state == .running, record.attempt == attempt.number
            {
                guard let payload = holding.peek(attemptID: attempt.id) else {
                    throw RunnerAPIError.unavailable("job of attempt \(attempt.id) is not held by this controller yet")
                }
                return (StoreChange(), (payload, nil))  // the same runner asking again
            }
            guard attempt.state == .starting || attempt.state == .started else {
                throw RunnerAPIError.conflict("token of attempt \(attempt.id) was already used (attempt is \(attempt.state.rawValue))")
            }
            guard var record, record.state == .held, record.attempt == attempt.number else {
                throw RunnerAPIError.conflict("attempt \(attempt.id) is no longer current")
            }
            guard let payload = holding.peek(attemptID: attempt.id) else {
                throw RunnerAPIError.unavailable("job of attempt \(attempt.id) is not held by this controller yet")
            }
            var next = attempt
            var aliases: [String: String] = [:]
            if attempt.tokenHash != hash {
                // A token the attempt kept from before a resume: it is the runner's from now on.
                next.tokenHash = hash
                aliases[attempt.tokenHash] = attempt.id
            }
            next.state = .running
            next.claimID = claimID
            next.claimedAt = now
            next.lastHeartbeatAt = now
            let due = record.attempt > 1 ? (record.heldSince ?? record.createdAt) : record.createdAt
            let waits = (queued: now.timeIntervalSince(due), start: now.timeIntervalSince(attempt.requestedAt))
            record = Lifecycle.running(record, now: now)
            let events = [
                JobEvent(record, attempt: attempt.number, at: now, kind: "runner-connected", message: "runner of \(attempt.taskName) connected"),
                JobEvent(record, attempt: attempt.number, at: now, kind: "running", message: "running attempt \(attempt.number)"),
            ]
            var change = StoreChange(records: [record], attempts: [next], events: events)
            change.tokenAliases = aliases
            return (change, (payload, waits))
        }
        holding.markClaimed(attemptID: claimed.attemptID, tokenHash: hash)
        guard let waits else {
            logger.info("runner claimed its job again", metadata: ["job.name": "\(claimed.job)", "attempt.id": "\(claimed.attemptID)"])
            return claimed
        }
        metrics.jobQueued(seconds: waits.queued)
        metrics.taskStarted(seconds: waits.start)
        logger.debug("runner claimed its job", metadata: ["job.name": "\(claimed.job)", "attempt.id": "\(claimed.attemptID)"])
        onChange()
        return claimed
    }

    /// Records a sign of life from the runner of `attemptID`. A runner known to run its attempt
    /// here (it claimed here, or an earlier heartbeat was checked with the store), with its
    /// attempt's token, is noted in memory and written in a batch (``HeartbeatBook``): no store
    /// call. Any other is checked and written in the store, as before.
    public func heartbeat(attemptID: String, token: String, now: Date = Date()) async throws {
        let hash = TaskToken.hash(token)
        if holding.isClaimed(attemptID: attemptID, tokenHash: hash) {
            heartbeats.note(attemptID: attemptID, at: now, service: self)
            return
        }
        try await heartbeatInStore(attemptID: attemptID, token: token, now: now)
        holding.markClaimed(attemptID: attemptID, tokenHash: hash)
    }

    func heartbeatInStore(attemptID: String, token: String, now: Date) async throws {
        try await withRunningAttempt(attemptID, token: token) { attempt, record in
            var next = attempt
            next.lastHeartbeatAt = now
            var records: [JobRecord] = []
            if var record, record.attempt == attempt.number, record.state == .running {
                record.lastHeartbeatAt = now
                records.append(record)
            }
            return (StoreChange(records: records, attempts: [next]), ())
        }
    }

    /// Appends chunk `seq` of the attempt's output. Chunks must come in order: a repeat of an
    /// accepted chunk is acknowledged again, a gap is refused. Output past
    /// ``Configuration/maxOutputBytes`` is cut: the chunk that crosses it is kept up to the cap
    /// and followed by ``cutMarker``, later ones are acknowledged and dropped. Returns whether the
    /// attempt's output is cut (its runner may stop sending).
    @discardableResult
    public func appendLog(attemptID: String, token: String, seq: Int, stream: LogChunk.Stream, bytes: [UInt8], now: Date = Date())
        async throws -> Bool
    {
        guard bytes.count <= configuration.maxLogChunkBytes else {
            throw RunnerAPIError.tooLarge("log chunk of \(bytes.count) bytes exceeds \(configuration.maxLogChunkBytes)")
        }
        let logs = self.logs
        let inStore = store.keepsLogOutput
        let cap = configuration.maxOutputBytes
        let marker = Self.cutMarker(cap)
        let (capped, cutNow) = try await withRunningAttempt(attemptID, token: token, allowCompletedAt: now) { attempt, record in
            if seq < attempt.nextLogSeq { return (StoreChange(), (attempt.logBytes > cap, false)) }  // already have it
            guard seq == attempt.nextLogSeq else {
                throw RunnerAPIError.conflict("log chunk \(seq) out of order; expected \(attempt.nextLogSeq)")
            }
            var next = attempt
            next.nextLogSeq += 1
            next.lastHeartbeatAt = now
            // Cut already (the marker put it past the cap). Output that reached the cap exactly is
            // not cut yet: the next bytes cut it, with the marker and the event.
            guard attempt.logBytes <= cap else { return (StoreChange(attempts: [next]), (true, false)) }
            let cutting = attempt.logBytes + bytes.count > cap
            let kept = cutting ? Array(bytes.prefix(cap - attempt.logBytes)) + marker : bytes
            if !inStore { try logs.write(kept, attemptID: attempt.id, at: attempt.logBytes) }
            next.logBytes += kept.count
            let chunk = LogChunk(
                attemptID: attempt.id, seq: seq, stream: stream, offset: attempt.logBytes, length: kept.count, at: now,
                bytes: inStore ? kept : nil)
            var change = StoreChange(attempts: [next], logChunks: [chunk])
            if cutting, let record {
                change.events.append(JobEvent(
                    record, attempt: attempt.number, at: now, kind: "output-capped",
                    message: "attempt \(attempt.number)'s output reached \(ByteCount.describe(cap)); the rest is dropped, the job goes on"))
            }
            return (change, (cutting, cutting))
        }
        if cutNow {
            metrics.outputCapped()
            logger.notice("output cut at the cap", metadata: ["attempt.id": "\(attemptID)", "cap.bytes": "\(cap)"])
        }
        return capped
    }

    /// The line that ends an attempt's output cut at `cap` bytes.
    public static func cutMarker(_ cap: Int) -> [UInt8] {
        Array("\n[runway: output cut at \(ByteCount.describe(cap)); the job goes on and the rest of its output is dropped]\n".utf8)
    }

    /// The runner's final report; settles the job (succeeded, retry after backoff, or failed).
    /// When the store cannot record it now, the report is kept and retried in the background
    /// until the store answers (``PendingReports``), and the runner is told 503 so that it keeps
    /// its copy too: whichever lands first settles the job, with the time the report arrived.
    public func complete(attemptID: String, token: String, report given: CompletionReport, now: Date = Date()) async throws {
        // A copy kept while the store was away arrived first: a retry that reaches the store
        // before the kept copy does is recorded with the first arrival's time.
        let receivedAt = await pending.arrival(of: attemptID).map { min($0, now) } ?? now
        do {
            try await record(attemptID: attemptID, token: token, report: given, receivedAt: receivedAt)
        } catch let error as RunnerAPIError {
            throw error
        } catch {
            await pending.keep(attemptID: attemptID, token: token, report: given, receivedAt: receivedAt, cause: error, service: self)
            throw RunnerAPIError.unavailable("the state store cannot record the report now; the controller keeps it and retries (\(error))")
        }
    }

    /// Records the reports kept during a store outage; throws while the store does not answer.
    public func flushPendingReports() async throws { try await pending.flush(self) }

    /// Writes a report received at `receivedAt`: the attempt completes and its job settles.
    func record(attemptID: String, token: String, report given: CompletionReport, receivedAt now: Date) async throws {
        let backoff = configuration.backoff
        let jitter = Double.random(in: 0..<1)
        let metrics = self.metrics
        try await withRunningAttempt(attemptID, token: token, allowCompletedAt: now) { attempt, record in
            guard attempt.state == .running else { return (StoreChange(), ()) }  // a repeated report
            let report = given.settled(stopRequested: attempt.stopRequestedAt != nil)
            var next = attempt
            next.state = .completed
            next.exitCode = report.exitCode
            next.reason = report.reason
            next.completedAt = now
            var change = StoreChange(attempts: [next])
            if let claimed = attempt.claimedAt { metrics.jobRan(seconds: now.timeIntervalSince(claimed)) }
            if let record, let missing = report.outputIncomplete {
                change.events.append(JobEvent(
                    record, attempt: attempt.number, at: now, kind: "output-incomplete",
                    message: "attempt \(attempt.number)'s runner could not ship all of its output: \(missing)"))
            }
            if let record, record.attempt == attempt.number, record.state == .running {
                let settled = Lifecycle.completed(
                    record, retries: attempt.retries, report: report, now: now, backoff: backoff, jitter: jitter)
                change.records.append(settled)
                let outcome = report.exitCode.map { "exit code \($0)" } ?? report.reason ?? "no exit code"
                change.events.append(JobEvent(settled, attempt: attempt.number, at: now, kind: "completed", message: "attempt \(attempt.number) completed: \(outcome)"))
                if settled.state == .pending, let at = settled.nextAttemptAt {
                    change.events.append(JobEvent(settled, attempt: attempt.number, at: now, kind: "retry-scheduled", message: "retry after \(String(format: "%.1f", at.timeIntervalSince(now)))s"))
                }
            }
            return (change, ())
        }
        holding.release(attempts: [attemptID])
        if let missing = given.outputIncomplete {
            logger.warning("runner could not ship all of its output", metadata: ["attempt.id": "\(attemptID)", "detail": "\(missing)"])
        }
        logger.debug("runner reported", metadata: ["attempt.id": "\(attemptID)", "exit.code": "\(given.exitCode.map(String.init) ?? "none")"])
        onChange()
    }

    /// Runs `change` on the attempt if `token` is its own and the attempt runs, or (given
    /// `allowCompletedAt`, the time of the call) completed less than `completedGrace` before.
    private func withRunningAttempt<T: Sendable>(
        _ attemptID: String, token: String, allowCompletedAt now: Date? = nil,
        _ change: @escaping @Sendable (AttemptRecord, JobRecord?) throws -> (StoreChange, T)
    ) async throws -> T {
        let hash = TaskToken.hash(token)
        let grace = configuration.completedGrace.timeInterval
        return try await store.modify(.id(attemptID)) { attempt, record in
            guard let attempt, attempt.tokenHash == hash else {
                throw RunnerAPIError.unauthorized("token does not belong to attempt \(attemptID)")
            }
            if attempt.state == .completed, let now, let completed = attempt.completedAt {
                guard now.timeIntervalSince(completed) < grace else {
                    throw RunnerAPIError.conflict("attempt \(attemptID) completed more than \(Int(grace)) s ago; its token works no more")
                }
            } else if attempt.state != .running {
                throw RunnerAPIError.conflict("attempt \(attemptID) is \(attempt.state.rawValue), not running")
            }
            return try change(attempt, record)
        }
    }
}

/// Completion reports the store could not record when they arrived, retried (0.5 s doubling to
/// 5 s) until the store answers or refuses them, so a report already received is not lost to a
/// store outage even if its runner gives up first.
actor PendingReports {
    private var reports: [String: (token: String, report: CompletionReport, receivedAt: Date)] = [:]
    private var retrying = false

    /// Records every kept report now; throws when the store still does not answer. The
    /// controller calls this before a pass, so a pass never judges an attempt whose report it
    /// already holds (as exited without one).
    func flush(_ service: RunnerService) async throws {
        for (attemptID, kept) in reports {
            do {
                try await service.record(attemptID: attemptID, token: kept.token, report: kept.report, receivedAt: kept.receivedAt)
                reports[attemptID] = nil
                service.logger.notice("kept report recorded", metadata: ["attempt.id": "\(attemptID)"])
            } catch let refusal as RunnerAPIError {
                reports[attemptID] = nil  // the store answered: the attempt was settled otherwise
                service.logger.warning("kept report refused", metadata: ["attempt.id": "\(attemptID)", "reason": "\(refusal)"])
            }
        }
    }

    /// When the kept report of `attemptID` arrived, if one is kept.
    func arrival(of attemptID: String) -> Date? { reports[attemptID]?.receivedAt }

    func keep(attemptID: String, token: String, report: CompletionReport, receivedAt: Date, cause: any Error, service: RunnerService) {
        if reports[attemptID] == nil {
            service.logger.warning(
                "report kept until the state store answers", metadata: ["attempt.id": "\(attemptID)", "error": "\(cause)"])
            reports[attemptID] = (token, report, receivedAt)
        }
        guard !retrying else { return }
        retrying = true
        Task { await retry(service) }
    }

    private func retry(_ service: RunnerService) async {
        var delay = 0.5
        while !reports.isEmpty {
            try? await Task.sleep(for: .seconds(delay))
            do {
                try await flush(service)
            } catch {
                delay = min(delay * 2, 5)  // still unreachable
            }
        }
        retrying = false
    }
}

/// Why a runner call was refused; each maps to one HTTP status.
public enum RunnerAPIError: Error, Equatable, CustomStringConvertible {
    case unauthorized(String)
    case conflict(String)
    case tooLarge(String)
    case badRequest(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .unauthorized(let m), .conflict(let m), .tooLarge(let m), .badRequest(let m), .unavailable(let m): m
        }
    }
}
