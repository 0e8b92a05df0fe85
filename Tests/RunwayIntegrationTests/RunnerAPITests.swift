import Foundation
import Hummingbird
import Logging
import RunwayHTTP
import RunwayModel
import RunwayRunner
import RunwayServer
import RunwayStore
import RunwayTestSupport
import ServiceLifecycle
import Testing

/// The runner API on a real socket, through the libcurl client: tokens work once, for their own
/// attempt only.
@Suite struct RunnerAPITests {
    struct Held {
        var attempt: AttemptRecord
        var token: String
    }

    /// Records and holds one attempt of `job`, as the controller does before starting its task.
    static func hold(_ job: String, store: any StateStore, holding: HoldingSet) async throws -> Held {
        let token = TaskToken.generate()
        let generation = Generation(digest: "00112233445566\(job.count)")
        let now = Date()
        let attempt = AttemptRecord(
            job: job, generation: generation, number: 1, profile: "p", plugin: "local", retries: 0,
            taskName: "runway-\(job)-00112233-1", tokenHash: TaskToken.hash(token), requestedAt: now)
        let record = JobRecord(job: job, generation: generation, profile: "p", state: .held, attempt: 1, createdAt: now, heldSince: now)
        try await store.apply(StoreChange(records: [record], attempts: [attempt]))
        holding.allowToken(hash: attempt.tokenHash, attemptID: attempt.id)
        holding.hold(
            ClaimedJob(attemptID: attempt.id, job: job, generation: generation.digest, attempt: 1, command: ["true"],
                workingDirectory: nil, environment: [:], heartbeatIntervalMilliseconds: 1000, maxLogChunkBytes: 1024))
        return Held(attempt: attempt, token: token)
    }

    /// The operator's token of the servers these tests start.
    static let operatorToken = "op-t0ken"

    /// A runner API on a real socket over a store in a scratch directory; the body gets its base
    /// URL, the store (counting every call) and the holding set (its tokens loaded: none yet).
    func withServer(
        policy: TrustPolicy = TrustPolicy(apiToken: Self.operatorToken), route: @escaping @Sendable () async -> RunnerRoute = { .serve },
        logger: Logger = Logger(label: "test"), maxOutputBytes: Int = 100 << 20,
        _ body: @Sendable (String, CountingStore, HoldingSet) async throws -> Void
    ) async throws {
        let scratch = TemporaryDirectory()
        let store = CountingStore(try SQLiteStateStore(directory: scratch.path))
        let holding = HoldingSet()
        holding.replaceTokens(with: [:], readStartedAt: .now)
        let logs = LogFiles(directory: scratch.path + "/logs")
        var configuration = RunnerService.Configuration()
        configuration.maxLogChunkBytes = 1024
        configuration.maxOutputBytes = maxOutputBytes
        let service = RunnerService(
            configuration: configuration, store: store, holding: holding, logs: logs, logger: logger, onChange: {})
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: RunnerAPI(service: service, store: store, logs: logs, policy: policy, readiness: { (true, "ready") }, route: route).router(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var ports = stream.makeAsyncIterator()
            let port = await ports.next()!
            try await body("http://127.0.0.1:\(port)", store, holding)
            await group.triggerGracefulShutdown()
        }
    }

    /// A runner service over `store` (its logs in `scratch`) and its holding set, for tests that
    /// call the service directly, without a server.
    static func service(over store: any StateStore, in scratch: TemporaryDirectory) -> (RunnerService, HoldingSet) {
        let holding = HoldingSet()
        let service = RunnerService(
            configuration: RunnerService.Configuration(), store: store, holding: holding,
            logs: LogFiles(directory: scratch.path + "/logs"), logger: Logger(label: "test"), onChange: {})
        return (service, holding)
    }

    /// How long a test's call may take. Alone, a test of this suite takes about 3 s; in the whole
    /// suite on two busy cores the same tests took 45–60 s, and a single call once ran past the
    /// client's default 30 s: these tests check answers, not how fast they come.
    static let callTimeout: Duration = .seconds(120)

    func get(_ url: String, token: String? = Self.operatorToken) async throws -> RunwayHTTP.HTTPResponse {
        try await RunwayHTTP.HTTPClient().send(
            RunwayHTTP.HTTPRequest(
                method: "GET", url: url, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [], timeout: Self.callTimeout))
    }

    func post(_ url: String, token: String?, body: [UInt8] = [], claimID: String? = nil) async throws -> RunwayHTTP.HTTPResponse {
        let headers = (token.map { [("Authorization", "Bearer \($0)")] } ?? []) + (claimID.map { [(ClaimedJob.claimIDHeader, $0)] } ?? [])
        return try await RunwayHTTP.HTTPClient().send(RunwayHTTP.HTTPRequest(method: "POST", url: url, headers: headers, body: body, timeout: Self.callTimeout))
    }

    /// A runner asking again with its own claim id (its first answer lost) gets the same job,
    /// with nothing changed; a claim with another id, or none, is refused; a bad id is a 400.
    @Test func aRunnerAskingAgainWithItsClaimIDGetsItsJobAgain() async throws {
        try await withServer { base, store, holding in
            let a = try await Self.hold("job-a", store: store, holding: holding)
            let first = try await post(base + "/v1/runner/claim", token: a.token, claimID: "runner-1")
            #expect(first.status == 200)
            let claimedAt = try await store.attempt(id: a.attempt.id)?.claimedAt
            let again = try await post(base + "/v1/runner/claim", token: a.token, claimID: "runner-1")
            #expect(again.status == 200)
            #expect(again.body == first.body)
            #expect(try await store.attempt(id: a.attempt.id)?.claimedAt == claimedAt, "nothing changed")
            #expect(try await post(base + "/v1/runner/claim", token: a.token, claimID: "runner-2").status == 409)
            #expect(try await post(base + "/v1/runner/claim", token: a.token).status == 409)
            #expect(try await post(base + "/v1/runner/claim", token: a.token, claimID: String(repeating: "x", count: 129)).status == 400)
            // Ended: no claim at all, not even the same runner's.
            let attempt = base + "/v1/runner/attempts/\(a.attempt.id)"
            #expect(try await post(attempt + "/complete", token: a.token, body: Array(#"{"exitCode":0}"#.utf8)).status == 204)
            #expect(try await post(base + "/v1/runner/claim", token: a.token, claimID: "runner-1").status == 409)
        }
    }

    /// A task token works only while its attempt runs, and for the grace after completion (a
    /// repeated chunk or report whose answer was lost); then for nothing.
    @Test func aTokenWorksNoMoreOnceItsAttemptEndedAndTheGracePassed() async throws {
        let scratch = TemporaryDirectory()
        let store = try SQLiteStateStore(directory: scratch.path)
        let (service, holding) = Self.service(over: store, in: scratch)
        let held = try await Self.hold("ended", store: store, holding: holding)
        let t0 = Date()
        _ = try await service.claim(token: held.token, now: t0)
        try await service.appendLog(attemptID: held.attempt.id, token: held.token, seq: 0, stream: .stdout, bytes: Array("a".utf8), now: t0)
        try await service.complete(attemptID: held.attempt.id, token: held.token, report: .init(exitCode: 0), now: t0.addingTimeInterval(1))
        // Within the grace: a repeated chunk and a repeated report are taken.
        try await service.appendLog(attemptID: held.attempt.id, token: held.token, seq: 0, stream: .stdout, bytes: Array("a".utf8), now: t0.addingTimeInterval(30))
        try await service.complete(attemptID: held.attempt.id, token: held.token, report: .init(exitCode: 0), now: t0.addingTimeInterval(30))
        // After it: refused, and nothing written.
        let late = t0.addingTimeInterval(62)
        await #expect(throws: RunnerAPIError.self) {
            try await service.appendLog(attemptID: held.attempt.id, token: held.token, seq: 1, stream: .stdout, bytes: Array("b".utf8), now: late)
        }
        await #expect(throws: RunnerAPIError.self) {
            try await service.heartbeat(attemptID: held.attempt.id, token: held.token, now: late)
        }
        #expect(try await store.attempt(id: held.attempt.id)?.logBytes == 1)
    }

    /// A resumed attempt keeps the token of the task launched before: whichever of the two
    /// runners claims first gets the job and acts with its own token; the other is refused.
    @Test(arguments: [true, false]) func aResumedAttemptKeepsItsFirstToken(firstClaims: Bool) async throws {
        try await withServer { base, store, holding in
            let a = try await Self.hold("job-a", store: store, holding: holding)
            let newToken = TaskToken.generate()
            var resumed = a.attempt
            resumed.tokenHash = TaskToken.hash(newToken)
            var change = StoreChange(attempts: [resumed])
            change.tokenAliases = [a.attempt.tokenHash: a.attempt.id]
            try await store.apply(change)
            holding.allowToken(hash: resumed.tokenHash, attemptID: resumed.id)  // as the controller does when it starts the new task
            let (winner, loser) = firstClaims ? (a.token, newToken) : (newToken, a.token)
            #expect(try await post(base + "/v1/runner/claim", token: winner, claimID: "w").status == 200)
            #expect(try await post(base + "/v1/runner/claim", token: loser, claimID: "l").status == 409)
            let attempt = base + "/v1/runner/attempts/\(a.attempt.id)"
            #expect(try await post(attempt + "/heartbeat", token: loser).status == 401)
            #expect(try await post(attempt + "/heartbeat", token: winner).status == 204)
            #expect(try await post(attempt + "/complete", token: winner, body: Array(#"{"exitCode":0}"#.utf8)).status == 204)
            #expect(try await store.jobRecords(job: "job-a").first?.state == .succeeded)
        }
    }

    /// A standby serves no runner call: it names the leader (307 to the same path and query) or,
    /// with no leader known, answers 503 with Retry-After; the read API and health stay its own.
    @Test func aStandbySendsRunnersToTheLeaderOrAsksThemToRetry() async throws {
        try await withServer(route: { .redirect(to: "http://127.0.0.1:9/") }) { base, store, holding in
            let held = try await Self.hold("job-a", store: store, holding: holding)
            let claim = try await post(base + "/v1/runner/claim", token: held.token)
            #expect(claim.status == 307)
            #expect(claim.headers["location"] == "http://127.0.0.1:9/v1/runner/claim")
            #expect(claim.headers[ClaimedJob.leaderURLHeader.lowercased()] == "http://127.0.0.1:9", "the leader, for the runner to check")
            let chunk = try await post(base + "/v1/runner/attempts/\(held.attempt.id)/logs?seq=0&stream=stderr", token: held.token, body: [1])
            #expect(chunk.headers["location"] == "http://127.0.0.1:9/v1/runner/attempts/\(held.attempt.id)/logs?seq=0&stream=stderr")
            #expect(try await store.attempt(id: held.attempt.id)?.state == .starting, "the standby changed nothing")
            let health = try await RunwayHTTP.HTTPClient().send(RunwayHTTP.HTTPRequest(method: "GET", url: base + "/healthz"))
            #expect(health.status == 200)
        }
        try await withServer(route: { .unavailable("no leader yet") }) { base, store, holding in
            let held = try await Self.hold("job-a", store: store, holding: holding)
            let claim = try await post(base + "/v1/runner/claim", token: held.token)
            #expect(claim.status == 503 && claim.headers["retry-after"] == "1" && claim.text == "no leader yet\n")
        }
    }

    @Test func aTokenClaimsOnlyItsOwnJobAndOnlyOnce() async throws {
        try await withServer { base, store, holding in
            let a = try await Self.hold("job-a", store: store, holding: holding)
            let b = try await Self.hold("job-bb", store: store, holding: holding)

            #expect(try await post(base + "/v1/runner/claim", token: nil).status == 401)
            #expect(try await post(base + "/v1/runner/claim", token: TaskToken.generate()).status == 401)

            let claim = try await post(base + "/v1/runner/claim", token: a.token)
            #expect(claim.status == 200)
            let job = try JSONDecoder().decode(ClaimedJob.self, from: Data(claim.body))
            #expect(job.job == "job-a")
            #expect(job.attemptID == a.attempt.id)

            // The same token again: refused, and the job is unaffected.
            let again = try await post(base + "/v1/runner/claim", token: a.token)
            #expect(again.status == 409)
            #expect(try await store.jobRecords(job: "job-a").first?.state == .running)

            // Another attempt's token cannot act on this attempt.
            let attemptA = base + "/v1/runner/attempts/\(a.attempt.id)"
            #expect(try await post(attemptA + "/heartbeat", token: b.token).status == 401)
            #expect(try await post(attemptA + "/complete", token: b.token, body: Array(#"{"exitCode":0}"#.utf8)).status == 401)
            #expect(try await store.jobRecords(job: "job-a").first?.state == .running)
            // Its own token can.
            #expect(try await post(attemptA + "/heartbeat", token: a.token).status == 204)
            // b's attempt is still claimable by b, and b's token was not used up by the refusals.
            #expect(try await store.jobRecords(job: "job-bb").first?.state == .held)
            #expect(try await post(base + "/v1/runner/claim", token: b.token).status == 200)
        }
    }

    @Test func logChunksAreOrderedBoundedAndIdempotent() async throws {
        try await withServer { base, store, holding in
            let a = try await Self.hold("logger", store: store, holding: holding)
            #expect(try await post(base + "/v1/runner/claim", token: a.token).status == 200)
            let logs = base + "/v1/runner/attempts/\(a.attempt.id)/logs"
            #expect(try await post(logs + "?seq=0&stream=stdout", token: a.token, body: Array("one\n".utf8)).status == 204)
            #expect(try await post(logs + "?seq=0&stream=stdout", token: a.token, body: Array("one\n".utf8)).status == 204)
            #expect(try await post(logs + "?seq=2&stream=stdout", token: a.token, body: Array("three\n".utf8)).status == 409)
            #expect(try await post(logs + "?seq=1&stream=stderr", token: a.token, body: Array("two\n".utf8)).status == 204)
            #expect(try await post(logs + "?seq=2", token: a.token, body: [UInt8](repeating: 65, count: 2048)).status == 413)
            #expect(try await post(logs, token: a.token, body: Array("x".utf8)).status == 400)
            let chunks = try await store.logChunks(attemptID: a.attempt.id)
            #expect(chunks.map(\.seq) == [0, 1])
            #expect(chunks.map(\.stream) == [.stdout, .stderr])
            let text = try await get(base + "/v1/jobs/logger/logs")
            #expect(text.text == "one\ntwo\n")
            let complete = base + "/v1/runner/attempts/\(a.attempt.id)/complete"
            #expect(try await post(complete, token: a.token, body: Array(#"{"exitCode":0}"#.utf8)).status == 204)
            #expect(try await store.jobRecords(job: "logger").first?.state == .succeeded)
            #expect(try await post(complete, token: a.token, body: Array(#"{"exitCode":0}"#.utf8)).status == 204, "a repeated report is acknowledged")
        }
    }

    @Test func healthAndReadEndpoints() async throws {
        try await withServer { base, store, holding in
            _ = try await Self.hold("visible", store: store, holding: holding)
            #expect(try await get(base + "/healthz", token: nil).status == 200)
            #expect(try await get(base + "/readyz", token: nil).status == 200)
            #expect(try await get(base + "/metrics", token: nil).status == 200, "open by default, for Prometheus")
            let jobs = try await get(base + "/v1/jobs")
            #expect(jobs.status == 200)
            #expect(jobs.text.contains(#""job":"visible""#))
            #expect(try await get(base + "/v1/jobs/visible").status == 200)
            #expect(try await get(base + "/v1/jobs/nope").status == 404)
        }
    }

    /// The read API and every other path need the operator's token: none, a wrong one, or a task
    /// token (even the job's own) get 401 with nothing read; the runner endpoints take task
    /// tokens, never the operator's; `/metrics` needs the token when the policy says so.
    @Test func theReadAPIRequiresTheOperatorsToken() async throws {
        try await withServer(policy: TrustPolicy(apiToken: "read-t0ken", metricsRequireToken: true)) { base, store, holding in
            let a = try await Self.hold("guarded", store: store, holding: holding)
            let other = try await Self.hold("other", store: store, holding: holding)
            let before = store.total
            for path in ["/v1/jobs", "/v1/jobs/guarded", "/v1/jobs/guarded/logs", "/v1/jobs/other/logs", "/v1/nothing-here", "/metrics"] {
                #expect(try await get(base + path, token: nil).status == 401, "\(path)")
                #expect(try await get(base + path, token: "read-t0ke").status == 401, "\(path)")
                #expect(try await get(base + path, token: a.token).status == 401, "a task token reads nothing: \(path)")
                #expect(try await get(base + path, token: other.token).status == 401, "\(path)")
            }
            #expect(store.total == before, "refused reads touch no store: \(store.counts)")
            for path in ["/v1/jobs", "/v1/jobs/guarded", "/v1/jobs/guarded/logs", "/metrics"] {
                #expect(try await get(base + path, token: "read-t0ken").status == 200, "\(path)")
            }
            #expect(try await get(base + "/healthz", token: nil).status == 200)
            #expect(try await get(base + "/readyz", token: nil).status == 200)
            // The runner endpoints take task tokens, not the operator's.
            #expect(try await post(base + "/v1/runner/claim", token: "read-t0ken").status == 401)
            #expect(try await post(base + "/v1/runner/claim", token: a.token).status == 200)
        }
    }
}

/// A runner takes its token only where it may go.
@Suite struct RunnerRedirectTests {
    let configured = ["https://runway.runway.svc:8080", "https://10.0.0.9:8080"]
    let path = "/v1/runner/claim"

    @Test func aRunnerFollowsRedirectsOnlyToItsControllersOrThePublishedLeader() {
        func may(_ location: String, from: String = "https://runway.runway.svc:8080/v1/runner/claim", leader: String? = nil) -> Bool {
            RunnerRedirects.mayFollow(location, from: from, leader: leader, path: path, configured: configured)
        }
        #expect(may("https://10.0.0.9:8080/v1/runner/claim"), "one of its own controller URLs")
        #expect(may("https://10.1.2.3:8080/v1/runner/claim", leader: "https://10.1.2.3:8080"), "the leader the standby names, same call")
        #expect(!may("https://10.1.2.3:8080/v1/runner/claim"), "a host nobody vouched for")
        #expect(!may("https://evil.example/v1/runner/claim", leader: "https://10.1.2.3:8080"), "not the named leader")
        #expect(!may("https://10.1.2.3:8080/elsewhere", leader: "https://10.1.2.3:8080"), "another path of the leader")
        #expect(!may("http://10.0.0.9:8080/v1/runner/claim"), "https never gives way to http, even to a configured host")
        #expect(!may("http://10.1.2.3:8080/v1/runner/claim", leader: "http://10.1.2.3:8080"))
        #expect(may("http://10.1.2.3:8080/v1/runner/claim", from: "http://runway.runway.svc:8080/v1/runner/claim", leader: "http://10.1.2.3:8080"))
        #expect(!may("ftp://10.0.0.9:8080/v1/runner/claim") && !may("/v1/runner/claim"))
    }
}
