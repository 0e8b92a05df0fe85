import Foundation
import RunwayModel
import RunwayStore
import RunwayTestSupport
import Testing

/// A scratch directory with a manifest folder and a state folder, and helpers to run
/// `runway apply` against them and read what the store recorded.
final class Workspace: @unchecked Sendable {
    let scratch = TemporaryDirectory()
    /// A unique word put in job commands, to find their processes.
    let tag = "rwtag\(UInt32.random(in: 0...UInt32.max))"

    var root: String { scratch.path }
    var manifests: String { root + "/manifests" }
    var state: String { root + "/state" }

    init() throws {
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try scratch.write("manifests/" + name, text) }

    func remove(_ name: String) throws { try FileManager.default.removeItem(atPath: manifests + "/" + name) }

    func profile(_ name: String = "local", isDefault: Bool = true, maxConcurrent: Int? = nil, startTimeout: String = "60s",
        config: String? = nil) -> String
    {
        var text = """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: \(name)}
            spec:
              plugin: local
              default: \(isDefault)
              startTimeout: \(startTimeout)

            """
        if let maxConcurrent { text += "  maxConcurrent: \(maxConcurrent)\n" }
        if let config { text += "  config: \(config)\n" }
        return text
    }

    /// A job manifest; `spec` adds lines to its spec (each `  key: value\n`).
    func job(_ name: String, _ script: String, retries: Int = 0, timeout: String? = nil, profile: String? = nil, spec: String = "") -> String {
        var text = """
            ---
            apiVersion: runway/v1
            kind: Job
            metadata: {name: \(name)}
            spec:
              command: [sh, -c, \(json(script))]
              environment: {RWTAG: \(tag)}
              retries: \(retries)

            """
        if let timeout { text += "  timeout: \(timeout)\n" }
        if let profile { text += "  profile: \(profile)\n" }
        return text + spec
    }

    private func json(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    /// `runway apply <manifests> --state-dir <state> --listen 127.0.0.1:<port>` in the background.
    func startApply(port: Int = 0, extra: [String] = [], directory: String? = nil, environment: [String: String] = [:]) throws
        -> RunningCommand
    {
        try RunningCommand(
            ["apply", directory ?? manifests, "--state-dir", state, "--listen", "127.0.0.1:\(port)"] + extra, directory: root,
            environment: environment)
    }

    func apply(port: Int = 0, extra: [String] = [], directory: String? = nil, environment: [String: String] = [:])
        async throws -> CommandResult
    {
        await (try startApply(port: port, extra: extra, directory: directory, environment: environment)).wait()
    }

    /// Runs `job` `runs` times through `apply`: once, then after each rerun recorded in the state
    /// dir (request ids `run-2`, …); every apply must succeed. Returns the job's attempts.
    func runRepeatedly(_ job: String, runs: Int, apply: () async throws -> CommandResult) async throws -> [AttemptRecord] {
        for run in 1...runs {
            if run > 1 {
                let rerun = try await RunwayExecutable.run(["rerun", job, "--state-dir", state, "--request-id", "run-\(run)"])
                #expect(rerun.status == 0, "\(rerun.stderr)")
            }
            let applied = try await apply()
            #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        }
        return try await attempts(job)
    }

    func store() throws -> SQLiteStateStore { try SQLiteStateStore(directory: state) }

    /// The record of each job's latest generation.
    func records() async throws -> [String: JobRecord] {
        let all = try await store().jobRecords()
        return Dictionary(grouping: all, by: \.job).mapValues { $0.max { $0.updatedAt < $1.updatedAt }! }
    }

    func attempts(_ job: String) async throws -> [AttemptRecord] { try await store().attempts(job: job) }

    /// Task records the local launcher still holds (every started task must have been stopped).
    var leftoverTasks: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: state + "/tasks/local")) ?? []).filter { $0.hasSuffix(".json") }
    }

    /// The newest record in the local launcher's file `name` (JSON lines, the newest last), as
    /// JSON.
    func localTaskRecord(_ name: String) -> [String: Any]? {
        let data = FileManager.default.contents(atPath: state + "/tasks/local/" + name) ?? Data()
        for line in data.split(separator: UInt8(ascii: "\n")).reversed() where !line.isEmpty {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] { return object }
        }
        return nil
    }

    /// Jobs of every kind, and how each must end, for the platform-fault tests: quick ones, one
    /// that fails and then succeeds on its retry, one that fails (exit 3), one that times out,
    /// one that leaves children in the background.
    func mixedJobs(profile: String? = nil) -> (manifests: String, expected: [String: (JobRecord.State, String?)]) {
        let manifests = job("ok-1", "echo one", profile: profile) + job("ok-2", "echo two", profile: profile)
            + job("flaky", #"[ "$RUNWAY_ATTEMPT" -ge 2 ]"#, retries: 1, profile: profile)
            + job("fails", "exit 3", profile: profile)
            + job("slow", "sleep 60", timeout: "3s", profile: profile)
            + job("background", "sleep 300 & echo hi", profile: profile)
        let expected: [String: (JobRecord.State, String?)] = [
            "ok-1": (.succeeded, nil), "ok-2": (.succeeded, nil), "flaky": (.succeeded, nil), "background": (.succeeded, nil),
            "fails": (.failed, "attempt 1: exit code 3"), "slow": (.failed, "attempt 1: timed-out (ran longer than its 3s timeout)"),
        ]
        return (manifests, expected)
    }

    /// Each job of `expected` ended so (state, and last reason where one is given).
    func expectEnded(_ expected: [String: (JobRecord.State, String?)], sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        let records = try await records()
        for (name, (state, reason)) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(records[name]?.state == state, "\(name): \(String(describing: records[name]))", sourceLocation: sourceLocation)
            if let reason { #expect(records[name]?.lastReason == reason, "\(name)", sourceLocation: sourceLocation) }
        }
    }

    /// Seconds from the runner of `job`'s first attempt taking its job to the stop of its task
    /// being requested (how long a timeout took to be acted on).
    func secondsUntilStopped(_ job: String) async throws -> TimeInterval {
        let attempt = try #require(try await attempts(job).first)
        return try #require(attempt.stopRequestedAt).timeIntervalSince(try #require(attempt.claimedAt))
    }

    /// Seconds from `job`'s command starting — its first output line, a `date +%s.%N` — to its
    /// runner's report arriving; and the output's other lines.
    func secondsFromFirstLineToReport(_ job: String) async throws -> (seconds: TimeInterval, rest: [Substring]) {
        let attempt = try #require(try await attempts(job).first)
        let lines = try await RunwayExecutable.run(["logs", job, "--state-dir", state]).stdout.split(separator: "\n")
        let started = Date(timeIntervalSince1970: try #require(Double(lines.first ?? "")))
        return (try #require(attempt.completedAt).timeIntervalSince(started), Array(lines.dropFirst()))
    }

    /// Live processes of this workspace's jobs.
    var liveJobProcesses: [Int32] { processes(withEnvironment: "RWTAG=\(tag)") }
}
