import Foundation
import RunwayModel
import RunwayServer
import RunwayStore
import RunwayTestSupport
import Synchronization
import Testing

extension RunnerAPITests {
    /// A runner that claimed here heartbeats without a store call: its heartbeats are noted in
    /// memory and written together, within the flush interval, in one transaction. A runner this
    /// controller did not see claim (a failover) is checked with the store once, then likewise.
    @Test func heartbeatsOfARunningRunnerAreWrittenInBatches() async throws {
        try await withServer { base, store, holding in
            let a = try await Self.hold("beats-a", store: store, holding: holding)
            let b = try await Self.hold("beats-b", store: store, holding: holding)
            #expect(try await post(base + "/v1/runner/claim", token: a.token).status == 200)
            // b's runner claimed before a failover: the store says it runs; this controller holds it.
            try await store.modify(.id(b.attempt.id)) { attempt, record in
                var attempt = attempt!, record = record!
                attempt.state = .running
                record.state = .running
                return (StoreChange(records: [record], attempts: [attempt]), ())
            }
            let claimedAt = try #require(try await store.attempt(id: a.attempt.id)?.lastHeartbeatAt)
            let before = store.counts
            let started = ContinuousClock.now
            for _ in 0..<40 {
                #expect(try await post(base + "/v1/runner/attempts/\(a.attempt.id)/heartbeat", token: a.token).status == 204)
                #expect(try await post(base + "/v1/runner/attempts/\(b.attempt.id)/heartbeat", token: b.token).status == 204)
            }
            let modifies = store.counts["modify(_:_:)", default: 0] - before["modify(_:_:)", default: 0]
            #expect(modifies == 1, "one store check, for b's first heartbeat; a's and the rest are noted in memory: \(store.counts)")
            var written: Date?
            #expect(await RunningCommand.until(timeout: .seconds(30)) {
                written = try? await store.attempt(id: a.attempt.id)?.lastHeartbeatAt
                return written.map { $0 > claimedAt } ?? false
            }, "written within the flush interval")
            // The last batch may land between the read of the attempt and that of its record: once
            // it has (the heartbeat stops moving), the record carries the attempt's latest
            // heartbeat, both written in one transaction.
            var settled = written
            #expect(await RunningCommand.until(timeout: .seconds(30)) {
                try? await Task.sleep(for: .milliseconds(1500))
                let latest = try? await store.attempt(id: a.attempt.id)?.lastHeartbeatAt
                defer { settled = latest }
                return latest == settled
            }, "the last batch written")
            #expect(try await store.jobRecords(job: "beats-a").first?.lastHeartbeatAt == settled)
            let batches = store.counts["recordHeartbeats(_:)", default: 0] - before["recordHeartbeats(_:)", default: 0]
            // At most one write per flush interval (1 s) while heartbeats keep coming, however
            // long the 80 calls took on a loaded machine.
            let seconds = Int((ContinuousClock.now - started) / .seconds(1))
            #expect(batches >= 1 && batches <= seconds + 1 && batches < 80, "80 heartbeats in \(batches) batches over \(seconds) s")
            // Another attempt's token is still refused (checked with the store).
            #expect(try await post(base + "/v1/runner/attempts/\(a.attempt.id)/heartbeat", token: b.token).status == 401)
        }
    }
}

extension RunnerAPITests {
    /// Every runner call asks the routing whether this controller leads. That must cost the same
    /// on the millionth call as on the first: the leader check used to be re-wrapped on every
    /// read, so the chain of wrappers grew with each call until a call overflowed the stack.
    @Test func routingARunnerCallCostsTheSameEveryTime() async throws {
        let scratch = TemporaryDirectory()
        let routing = RunnerRouting(store: try SQLiteStateStore(directory: scratch.path), leaseName: "test")
        #expect(await routing.route() == .unavailable("the controller is starting"))
        routing.follow { true }
        for _ in 0..<300_000 {
            guard await routing.route() == .serve else { Issue.record("not served"); return }
        }
    }

    /// A report held up before its handler (here the gate's route, as a standby that lost the
    /// store waits on it to look for the leader) is recorded with the time it arrived, not the
    /// time it was let through: a CI run recorded a kept report 3 s late that way.
    @Test func aReportHeldUpByTheGateIsRecordedWithTheTimeItArrived() async throws {
        let gateEntered = Mutex<Date?>(nil)
        let route: @Sendable () async -> RunnerRoute = {
            gateEntered.withLock { $0 = Date() }
            try? await Task.sleep(for: .seconds(2))
            return .serve
        }
        try await withServer(route: route) { base, store, holding in
            let held = try await Self.hold("late", store: store, holding: holding)
            #expect(try await post(base + "/v1/runner/claim", token: held.token).status == 200)
            let report = base + "/v1/runner/attempts/\(held.attempt.id)/complete"
            #expect(try await post(report, token: held.token, body: Array(#"{"exitCode":0}"#.utf8)).status == 204)
            let entered = try #require(gateEntered.withLock { $0 })
            let completedAt = try #require(try await store.attempt(id: held.attempt.id)?.completedAt)
            #expect(completedAt <= entered, "recorded \(completedAt.timeIntervalSince(entered)) s after the gate took the report up")
        }
    }

    /// A report kept while the store was away, then sent again by its runner and recorded from
    /// that retry (which reached the store before the kept copy was written), is recorded with
    /// the first arrival's time: a CI run had the retry's later time win.
    @Test func aReportSentAgainIsRecordedWithItsFirstArrival() async throws {
        let scratch = TemporaryDirectory()
        let store = CountingStore(try SQLiteStateStore(directory: scratch.path))
        let (service, holding) = Self.service(over: store, in: scratch)
        let held = try await Self.hold("again", store: store, holding: holding)
        let t0 = Date()
        _ = try await service.claim(token: held.token, now: t0)
        store.refusesModify.withLock { $0 = { _ in true } }
        await #expect(throws: RunnerAPIError.self) {
            try await service.complete(attemptID: held.attempt.id, token: held.token, report: .init(exitCode: 0), now: t0.addingTimeInterval(1))
        }
        store.refusesModify.withLock { $0 = { _ in false } }
        try await service.complete(attemptID: held.attempt.id, token: held.token, report: .init(exitCode: 0), now: t0.addingTimeInterval(4))
        let completedAt = try #require(try await store.attempt(id: held.attempt.id)?.completedAt)
        #expect(abs(completedAt.timeIntervalSince(t0.addingTimeInterval(1))) < 0.01, "recorded \(completedAt.timeIntervalSince(t0)) s after t0, not 1")
    }
}
