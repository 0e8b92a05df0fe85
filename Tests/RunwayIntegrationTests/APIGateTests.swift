import Foundation
import Logging
import RunwayController
import RunwayHTTP
import RunwayModel
import RunwayServer
import RunwayStore
import RunwayTestSupport
import Synchronization
import Testing

/// Log lines kept in memory, for tests that count them.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var messages: [String] { lines.withLock { $0 } }

    func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.lines.withLock { $0.append("\(event.message)") }
        }
    }
}

/// The gate in front of the API: who is let in is decided from the headers alone, before a
/// body is read or the store is touched; bodies are held to each path's limit.
extension RunnerAPITests {
    /// 10,000 runner calls with random tokens (claims, heartbeats, log chunks and reports
    /// addressed to a real attempt) are all refused with 401 without a single store call, the
    /// refusals are one log line for their one source, and the API still serves its runner.
    @Test func tenThousandRandomTokensTouchNoStoreAndCostOneLogLine() async throws {
        let log = CapturedLog()
        try await withServer(logger: log.logger()) { base, store, holding in
            let held = try await Self.hold("target", store: store, holding: holding)
            let before = store.counts
            let started = ContinuousClock.now
            let attempt = base + "/v1/runner/attempts/\(held.attempt.id)"
            let paths = [base + "/v1/runner/claim", attempt + "/heartbeat", attempt + "/logs?seq=0", attempt + "/complete"]
            let statuses = try await withThrowingTaskGroup(of: [Int: Int].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        // One client per worker, its connection kept alive, as a runner's is: a
                        // refusal must leave the connection usable (the unread body drained).
                        let client = RunwayHTTP.HTTPClient()
                        var statuses: [Int: Int] = [:]
                        for index in stride(from: worker, to: 10_000, by: 8) {
                            let body = index % 4 == 2 ? Array("some output\n".utf8) : index % 4 == 3 ? Array(#"{"exitCode":0}"#.utf8) : []
                            let headers = [("Authorization", "Bearer \(TaskToken.generate())")]
                            let request = RunwayHTTP.HTTPRequest(method: "POST", url: paths[index % 4], headers: headers, body: body)
                            statuses[try await client.send(request).status, default: 0] += 1
                        }
                        return statuses
                    }
                }
                return try await group.reduce(into: [Int: Int]()) { all, some in all.merge(some, uniquingKeysWith: +) }
            }
            #expect(statuses == [401: 10_000], "\(statuses)")
            #expect(store.counts == before, "random tokens touched the store: \(before) → \(store.counts)")
            // One line for the one source, and one summing up each minute that passed (a loaded
            // machine may take minutes), never one per request.
            let minutes = Int((ContinuousClock.now - started) / .seconds(60)) + 1
            let refusals = log.messages.filter { $0.contains("refused") }
            #expect(refusals.count >= 1 && refusals.count <= 2 * minutes, "\(refusals.count) lines in \(minutes) minute(s): \(refusals.prefix(5))")
            #expect(try await get(base + "/readyz", token: nil).status == 200)
            #expect(try await post(base + "/v1/runner/claim", token: held.token).status == 200, "its runner is still served")
        }
    }

    /// A request with an unknown token is answered before its body is read: a log chunk that
    /// declares 100 MiB and sends none gets its 401 at once.
    @Test func anUnknownTokenIsRefusedBeforeItsBodyIsRead() async throws {
        try await withServer { base, store, holding in
            let held = try await Self.hold("waiting", store: store, holding: holding)
            let port = Int(base.split(separator: ":").last!)!
            let head = "POST /v1/runner/attempts/\(held.attempt.id)/logs?seq=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Bearer \(TaskToken.generate())\r\nContent-Length: \(100 << 20)\r\n\r\n"
            let answer = try await RawHTTP.exchange(port: port, send: Array(head.utf8), readFor: .seconds(60))
            #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer.prefix(200))")
        }
    }

    /// Each path's body limit: a heartbeat or claim takes 4 KiB, a report 64 KiB, a log chunk the
    /// configured chunk size, the read API and health nothing; beyond it, 413 (after the token
    /// was checked, so a stranger still gets 401).
    @Test func bodiesBeyondTheirPathsLimitGet413() async throws {
        try await withServer { base, store, holding in
            let held = try await Self.hold("limited", store: store, holding: holding)
            let attempt = base + "/v1/runner/attempts/\(held.attempt.id)"
            #expect(try await post(base + "/v1/runner/claim", token: held.token, body: [UInt8](repeating: 32, count: 5000)).status == 413)
            #expect(try await post(base + "/v1/runner/claim", token: held.token).status == 200)
            #expect(try await post(attempt + "/heartbeat", token: held.token, body: [UInt8](repeating: 32, count: 5000)).status == 413)
            #expect(try await post(attempt + "/logs?seq=0", token: held.token, body: [UInt8](repeating: 65, count: 1025)).status == 413)
            #expect(try await post(attempt + "/logs?seq=0", token: held.token, body: [UInt8](repeating: 65, count: 1024)).status == 204)
            let report = Array(#"{"exitCode":0,"reason":""#.utf8) + [UInt8](repeating: 65, count: 70_000) + Array(#""}"#.utf8)
            #expect(try await post(attempt + "/complete", token: held.token, body: report).status == 413)
            #expect(try await post(attempt + "/complete", token: TaskToken.generate(), body: report).status == 401)
            let read = try await RunwayHTTP.HTTPClient().send(RunwayHTTP.HTTPRequest(
                method: "GET", url: base + "/v1/jobs", headers: [("Authorization", "Bearer \(Self.operatorToken)")], body: Array("x".utf8)))
            #expect(read.status == 413)
            // A method the path does not take: 405, naming the one it does.
            let posted = try await RunwayHTTP.HTTPClient().send(RunwayHTTP.HTTPRequest(
                method: "POST", url: base + "/v1/jobs", headers: [("Authorization", "Bearer \(Self.operatorToken)")]))
            #expect(posted.status == 405 && posted.headers["allow"] == "GET")
        }
    }

    /// Before the controller has loaded its runners' tokens nobody can tell a token's attempt
    /// a runner call gets 503 with Retry-After (its runner retries), never 401.
    @Test func theTokenIndexKnowsNothingUntilLoadedAndKeepsTokensIssuedDuringAReload() async throws {
        let holding = HoldingSet()
        #expect(holding.tokens.verdict(token: "anything") == .notLoaded)
        holding.allowToken(hash: TaskToken.hash("issued"), attemptID: "a.1")
        let readStarted = ContinuousClock.now
        holding.allowToken(hash: TaskToken.hash("issued-during-the-read"), attemptID: "b.1")
        holding.replaceTokens(with: [TaskToken.hash("stored"): "c.1"], readStartedAt: readStarted)
        #expect(holding.tokens.verdict(token: "stored") == .known(attemptID: "c.1"))
        #expect(holding.tokens.verdict(token: "issued-during-the-read") == .known(attemptID: "b.1"), "issued after the read began")
        #expect(holding.tokens.verdict(token: "issued") == .unknown, "the store's answer wins for tokens it had seen")
        #expect(holding.tokens.verdict(token: "anything") == .unknown)
    }

    /// Once leadership changed hands the set may miss tokens another controller issued: an
    /// unknown token gets 503 (retried) again, not 401, until a load whose read began after the
    /// change. A CI run's runner, started by the last leader, was refused its report (401
    /// "unknown task token") by a controller leading again with a set read before the token
    /// existed; it gave up, and its job was judged lost and ran a second time.
    @Test func aChangeOfLeadershipMakesUnknownTokensRetriedUntilTheNextLoad() async throws {
        let holding = HoldingSet()
        holding.replaceTokens(with: [TaskToken.hash("old"): "a.1"], readStartedAt: .now)
        #expect(holding.tokens.verdict(token: "new") == .unknown)
        let readBeforeTheChange = ContinuousClock.now
        holding.tokensMayBeStale()
        #expect(!holding.tokensLoaded)
        #expect(holding.tokens.verdict(token: "new") == .notLoaded)
        #expect(holding.tokens.verdict(token: "old") == .known(attemptID: "a.1"), "a token known still passes the gate")
        holding.replaceTokens(with: [TaskToken.hash("old"): "a.1"], readStartedAt: readBeforeTheChange)
        #expect(holding.tokens.verdict(token: "new") == .notLoaded, "a read begun before the change does not count")
        holding.replaceTokens(with: [TaskToken.hash("new"): "b.1"], readStartedAt: .now)
        #expect(holding.tokensLoaded)
        #expect(holding.tokens.verdict(token: "new") == .known(attemptID: "b.1"))
        #expect(holding.tokens.verdict(token: "other") == .unknown)
    }

    /// The lease tells of every change of term before anyone sees this controller lead under
    /// it: beginning to lead, losing the lease, leading again under a new token, stepping down;
    /// a renewal under the same token tells nothing.
    @Test func theLeaseTellsOfEveryChangeOfTerm() async throws {
        let scratch = TemporaryDirectory()
        let store = try SQLiteStateStore(directory: scratch.path)
        let changes = Mutex(0)
        var configuration = LeaderLease.Configuration()
        configuration.duration = .seconds(15)
        let a = LeaderLease(
            configuration: configuration, controllerID: "a", store: store, logger: Logger(label: "test"),
            onTermChange: { changes.withLock { $0 += 1 } })
        let b = LeaderLease(configuration: configuration, controllerID: "b", store: store, logger: Logger(label: "test"))
        #expect(await a.refresh() && changes.withLock { $0 } == 1, "began to lead")
        #expect(await a.refresh() && changes.withLock { $0 } == 1, "a renewal: the same term")
        #expect(await b.refresh(now: Date().addingTimeInterval(20)), "b takes the lapsed lease")
        #expect(await !a.refresh() && changes.withLock { $0 } == 2, "lost it")
        #expect(await a.refresh(now: Date().addingTimeInterval(40)) && changes.withLock { $0 } == 3, "leads again, a new term")
        let lease = try #require(a.current)
        a.stepDown(after: FencedError(lease: lease, current: nil))
        #expect(changes.withLock { $0 } == 4, "stepped down")
    }

    /// A pass's rehold holds exactly what its store read found, but keeps a job held after the
    /// read began: a start in flight holds its job, and its runner's claim must find it (before,
    /// about one claim in five met a 503 and waited 250 ms for the next pass).
    @Test func aReholdKeepsTheJobsHeldAfterItsReadBegan() {
        func job(_ id: String) -> ClaimedJob {
            ClaimedJob(attemptID: id, job: id, generation: "0011223344556677", attempt: 1, command: ["true"], workingDirectory: nil,
                environment: [:], heartbeatIntervalMilliseconds: 1000, maxLogChunkBytes: 1024)
        }
        let holding = HoldingSet()
        holding.hold(job("ended.1"))
        holding.hold(job("stored.1"))
        let readStarted = ContinuousClock.now
        holding.hold(job("starting.1"))
        holding.holdOnly([job("stored.1"), job("restored.1")], readStartedAt: readStarted)
        #expect(holding.peek(attemptID: "starting.1") != nil, "held after the read began")
        #expect(holding.peek(attemptID: "stored.1") != nil && holding.peek(attemptID: "restored.1") != nil, "what the store holds")
        #expect(holding.peek(attemptID: "ended.1") == nil, "held before the read, not in it: the attempt ended")
        holding.holdOnly([], readStartedAt: .now)
        #expect(holding.count == 0)
    }
}

/// The output cap and log reads by range.
extension RunnerAPITests {
    /// Holds `job`, has its runner claim it, and returns it with its attempt's logs URL.
    func claimed(_ job: String, base: String, store: CountingStore, holding: HoldingSet) async throws -> (Held, logs: String) {
        let held = try await Self.hold(job, store: store, holding: holding)
        #expect(try await post(base + "/v1/runner/claim", token: held.token).status == 200)
        return (held, base + "/v1/runner/attempts/\(held.attempt.id)/logs")
    }

    /// Past the cap the chunk is cut with the marker line, the attempt gets an `output-capped`
    /// event, the runner is told (so it may stop sending), and later chunks are taken and
    /// dropped; the job goes on and reports as usual.
    @Test func outputPastTheCapIsCutWithAMarkerAndTheJobGoesOn() async throws {
        try await withServer(maxOutputBytes: 1000) { base, store, holding in
            let (held, logs) = try await claimed("chatty", base: base, store: store, holding: holding)
            let first = try await post(logs + "?seq=0", token: held.token, body: [UInt8](repeating: 65, count: 900))
            #expect(first.status == 204 && first.headers[ClaimedJob.outputCappedHeader.lowercased()] == nil)
            let crossing = try await post(logs + "?seq=1", token: held.token, body: [UInt8](repeating: 66, count: 300))
            #expect(crossing.status == 204 && crossing.headers[ClaimedJob.outputCappedHeader.lowercased()] == "true")
            let later = try await post(logs + "?seq=2", token: held.token, body: [UInt8](repeating: 67, count: 300))
            #expect(later.status == 204 && later.headers[ClaimedJob.outputCappedHeader.lowercased()] == "true")
            let text = try await get(base + "/v1/jobs/chatty/logs")
            let expected = [UInt8](repeating: 65, count: 900) + [UInt8](repeating: 66, count: 100) + RunnerService.cutMarker(1000)
            #expect(text.body == expected, "\(text.text.suffix(120))")
            #expect(String(decoding: RunnerService.cutMarker(1000), as: UTF8.self).contains("output cut at 1000 bytes"))
            let events = try await store.events(job: "chatty").filter { $0.kind == "output-capped" }
            #expect(events.count == 1, "\(events)")
            #expect(try await post(base + "/v1/runner/attempts/\(held.attempt.id)/complete", token: held.token,
                body: Array(#"{"exitCode":0}"#.utf8)).status == 204)
            #expect(try await store.jobRecords(job: "chatty").first?.state == .succeeded)
        }
    }

    /// Output that reaches the cap exactly is whole (no marker, no event); the next byte is what
    /// gets cut, with the marker and the one event.
    @Test func outputReachingTheCapExactlyIsCutByTheNextBytes() async throws {
        try await withServer(maxOutputBytes: 1000) { base, store, holding in
            let (held, logs) = try await claimed("exact", base: base, store: store, holding: holding)
            let full = try await post(logs + "?seq=0", token: held.token, body: [UInt8](repeating: 65, count: 1000))
            #expect(full.status == 204 && full.headers[ClaimedJob.outputCappedHeader.lowercased()] == nil)
            #expect(try await get(base + "/v1/jobs/exact/logs").body == [UInt8](repeating: 65, count: 1000))
            #expect(try await store.events(job: "exact").filter { $0.kind == "output-capped" }.isEmpty)
            let past = try await post(logs + "?seq=1", token: held.token, body: [66])
            #expect(past.status == 204 && past.headers[ClaimedJob.outputCappedHeader.lowercased()] == "true")
            let text = try await get(base + "/v1/jobs/exact/logs")
            #expect(text.body == [UInt8](repeating: 65, count: 1000) + RunnerService.cutMarker(1000), "\(text.text.suffix(120))")
            #expect(try await store.events(job: "exact").filter { $0.kind == "output-capped" }.count == 1)
        }
    }

    /// Logs are served by range: `?offset=`, `Range: bytes=A-B`, `bytes=A-`, `bytes=-N`; a range
    /// past the end is 416 naming the size.
    @Test func logsAreServedByOffsetAndRange() async throws {
        try await withServer { base, store, holding in
            let (held, logs) = try await claimed("ranged", base: base, store: store, holding: holding)
            #expect(try await post(logs + "?seq=0", token: held.token, body: Array("0123456789".utf8)).status == 204)
            #expect(try await post(logs + "?seq=1", token: held.token, body: Array("abcdefghij".utf8)).status == 204)
            let url = base + "/v1/jobs/ranged/logs"
            func ranged(_ range: String) async throws -> RunwayHTTP.HTTPResponse {
                try await RunwayHTTP.HTTPClient().send(RunwayHTTP.HTTPRequest(
                    method: "GET", url: url, headers: [("Authorization", "Bearer \(Self.operatorToken)"), ("Range", range)]))
            }
            #expect(try await get(url).text == "0123456789abcdefghij")
            #expect(try await get(url + "?offset=8").text == "89abcdefghij")
            #expect(try await get(url + "?offset=99").text == "")
            let middle = try await ranged("bytes=8-11")
            #expect(middle.status == 206 && middle.text == "89ab" && middle.headers["content-range"] == "bytes 8-11/20")
            #expect(try await ranged("bytes=15-").text == "fghij")
            #expect(try await ranged("bytes=-3").text == "hij")
            let past = try await ranged("bytes=20-")
            #expect(past.status == 416 && past.headers["content-range"] == "bytes */20")
        }
    }
}
