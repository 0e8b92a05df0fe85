import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import RunwayModel
import RunwayServer
import RunwayStore
import Synchronization

/// The runner API's request decoding: an input is one request, written as HTTP/1.1 text (a
/// request line, header lines, a blank line, the body), handed to the controller's own router
/// with a real store behind it. Routing, path parameters, the query, the bearer token, log chunks
/// and completion reports are decoded exactly as they are for a runner on the network.
extension FuzzTargets {
    /// The token of the attempt held for the fuzzer, which a claim takes (the seeds carry the
    /// tokens, so inputs get past authentication into the handlers).
    public static let runnerToken = "fuzz-runner-token"
    /// The token of the attempt running for the fuzzer (`fuzz-running.0011223344556677.1`), which
    /// heartbeats, log chunks and completion reports address.
    public static let runningToken = "fuzz-running-token"
    /// The read API's bearer token.
    public static let readToken = "fuzz-read-token"

    /// Runs one request; returns the HTTP status the API answered (an error the server turns into
    /// a response counts with its status).
    @discardableResult
    public static func runnerAPI(_ bytes: [UInt8]) -> Int {
        guard let request = request(from: bytes) else { return 400 }
        let world = RunnerAPIWorld.shared
        let status = Mutex<Int>(0)
        let done = DispatchSemaphore(value: 0)
        Task {
            let answer = await world.respond(to: request)
            status.withLock { $0 = answer }
            done.signal()
        }
        done.wait()
        return status.withLock { $0 }
    }

    /// The fuzzer's framing of a request: `METHOD TARGET [VERSION]`, then `Name: value` lines up to
    /// an empty line, then the body. nil when the text has no request line a client could send.
    static func request(from bytes: [UInt8]) -> Request? {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var bodyStart = bytes.count
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                var line = bytes[start..<index]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                if line.isEmpty, !lines.isEmpty {
                    bodyStart = index + 1
                    break
                }
                lines.append(line)
                start = index + 1
            }
            index += 1
        }
        if bodyStart == bytes.count, start < bytes.count { lines.append(bytes[start...]) }
        guard let first = lines.first else { return nil }
        let parts = first.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard parts.count >= 2, let method = HTTPRequest.Method(String(decoding: parts[0], as: UTF8.self)) else { return nil }
        var fields = HTTPFields()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")),
                let name = HTTPField.Name(String(decoding: line[..<colon], as: UTF8.self))
            else { continue }
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            fields.append(HTTPField(name: name, value: value))
        }
        let head = HTTPRequest(
            method: method, scheme: "http", authority: "127.0.0.1", path: String(decoding: parts[1], as: UTF8.self), headerFields: fields)
        let body = bodyStart < bytes.count ? Array(bytes[bodyStart...]) : []
        return Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: body)))
    }
}

/// One controller's runner API over a SQLite store in a scratch directory, with one attempt held
/// (`FuzzTargets.runnerToken`) and one running (`FuzzTargets.runningToken`); each request finds
/// both as they were first.
final class RunnerAPIWorld: Sendable {
    static let shared = RunnerAPIWorld()

    let store: SQLiteStateStore
    let holding = HoldingSet()
    let responder: RouterResponder<APIContext>
    /// Says nothing: millions of requests are not worth a line each.
    let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    let attempt: AttemptRecord
    let record: JobRecord
    let claimed: ClaimedJob
    let running: AttemptRecord
    let runningRecord: JobRecord

    private init() {
        let directory = FileManager.default.temporaryDirectory.path + "/runway-fuzz-api-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try! SQLiteStateStore(directory: directory)
        let logs = LogFiles(directory: directory + "/logs")
        var configuration = RunnerService.Configuration()
        configuration.maxLogChunkBytes = 4096
        let service = RunnerService(configuration: configuration, store: store, holding: holding, logs: logs, logger: logger, onChange: {})
        responder = RunnerAPI(
            service: service, store: store, logs: logs, policy: TrustPolicy(apiToken: FuzzTargets.readToken), readiness: { (true, "ready") }
        ).router().buildResponder()
        let generation = Generation(digest: "0011223344556677")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        attempt = AttemptRecord(
            job: "fuzz", generation: generation, number: 1, profile: "p", plugin: "local", retries: 0,
            taskName: "runway-fuzz-00112233-1", tokenHash: TaskToken.hash(FuzzTargets.runnerToken), requestedAt: now)
        record = JobRecord(job: "fuzz", generation: generation, profile: "p", state: .held, attempt: 1, createdAt: now, heldSince: now)
        var running = AttemptRecord(
            job: "fuzz-running", generation: generation, number: 1, profile: "p", plugin: "local", retries: 0,
            taskName: "runway-fuzz-running-00112233-1", tokenHash: TaskToken.hash(FuzzTargets.runningToken), requestedAt: now)
        running.state = .running
        running.claimedAt = now
        running.lastHeartbeatAt = now
        self.running = running
        runningRecord = JobRecord(
            job: "fuzz-running", generation: generation, profile: "p", state: .running, attempt: 1, createdAt: now, heldSince: now)
        holding.tokens.replace(
            with: [attempt.tokenHash: attempt.id, running.tokenHash: running.id], readStartedAt: ContinuousClock.now)
        claimed = ClaimedJob(
            attemptID: attempt.id, job: "fuzz", generation: generation.digest, attempt: 1, command: ["true"], workingDirectory: nil,
            environment: [:], heartbeatIntervalMilliseconds: 1000, maxLogChunkBytes: 4096)
    }

    func respond(to request: Request) async -> Int {
        do {
            try await store.apply(StoreChange(records: [record, runningRecord], attempts: [attempt, running]))
            holding.hold(claimed)
        } catch {
            fatalError("the fuzz store cannot be reset: \(error)")
        }
        // A channel of this request's own: an embedded one may only be used on the thread that
        // made it (the context reads its remote address).
        let context = APIContext(source: .init(channel: EmbeddedChannel(), logger: logger))
        do {
            let response = try await responder.respond(to: request, context: context)
            return response.status.code
        } catch let error as any HTTPResponseError {
            return error.status.code
        } catch {
            return 500
        }
    }
}
