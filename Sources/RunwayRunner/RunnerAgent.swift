import Foundation
import Logging
import RunwayWire
import RunwayModel
import RunwayProcess

/// `runway runner`: connects back to the controller, claims the one job its task was launched
/// for, runs it, streams its output, heartbeats, forwards SIGTERM to it, reports, and exits with
/// the job's exit code.
public struct RunnerAgent: Sendable {
    /// Settings, read from the task environment. Every default is documented on its property.
    public struct Configuration: Sendable {
        public var serverURL: String
        public var token: String
        public var taskID: String
        /// CA certificate (PEM text or a file path) that the controller's TLS certificate is
        /// checked against (`RUNWAY_SERVER_CA`). Default none: the system's trust store.
        public var serverCA: String?
        /// Attempts to reach the controller before giving up. Default 15 (about 80 seconds).
        public var connectAttempts: Int = 15
        /// Attempts to deliver the final report. Default 30 (about two minutes, so a
        /// controller that restarts in between still gets it).
        public var reportAttempts: Int = 30

        public init(serverURL: String, token: String, taskID: String) {
            self.serverURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
            self.token = token
            self.taskID = taskID
        }

        /// Reads `RUNWAY_SERVER_URL`, `RUNWAY_TASK_TOKEN`, `RUNWAY_TASK_ID` and `RUNWAY_SERVER_CA`.
        public static func fromEnvironment(_ environment: [String: String]) throws -> Configuration {
            func required(_ name: String) throws -> String {
                guard let value = environment[name], !value.isEmpty else { throw RunnerError.missingEnvironment(name) }
                return value
            }
            var configuration = Configuration(
                serverURL: try required(TaskEnvironment.serverURL), token: try required(TaskEnvironment.token),
                taskID: try required(TaskEnvironment.taskID))
            configuration.serverCA = environment[TaskEnvironment.serverCA].flatMap { $0.isEmpty ? nil : $0 }
            return configuration
        }
    }

    let configuration: Configuration
    let client: ControllerClient
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.client = ControllerClient(
            baseURL: configuration.serverURL, token: configuration.token,
            serverCA: configuration.serverCA.map(TLSOptions.Source.fileOrPEM))
        self.logger = logger
    }

    /// Runs the whole agent; returns the process exit status.
    public func run() async -> Int32 {
        let job: ClaimedJob
        do {
            job = try await claim()
        } catch {
            logger.error("could not claim a job", metadata: ["error": "\(error)", "task.id": "\(configuration.taskID)"])
            return 3
        }
        logger.info("claimed job", metadata: ["job.name": "\(job.job)", "attempt.id": "\(job.attemptID)"])
        let report = await execute(job)
        // A runner told to stop (SIGTERM) is being stopped by its controller: report briefly, then
        // exit within the stop's grace instead of retrying for minutes.
        await deliver(report, for: job, attempts: report.reason == Self.stoppedReason ? 3 : configuration.reportAttempts)
        return report.exitCode ?? 1
    }

    private func claim() async throws -> ClaimedJob {
        var delay = 0.25
        for attempt in 1...configuration.connectAttempts {
            do {
                return try await client.claim()
            } catch let error as RunnerError where !error.isRetryable {
                throw error
            } catch {
                logger.warning("controller not reachable yet", metadata: ["try": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 8)
            }
        }
        throw RunnerError.unreachable(configuration.serverURL)
    }

    private func execute(_ job: ClaimedJob) async -> CompletionReport {
        // Orphans of the job (daemons, `setsid` children) come back to the runner, to be found
        // and stopped when the job ends, and reaped.
        ProcessTree.becomeChildSubreaper()
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RUNWAY_") }
        environment.merge(job.environment) { $1 }
        environment[TaskEnvironment.job] = job.job
        environment[TaskEnvironment.attempt] = String(job.attempt)
        let process: JobProcess
        do {
            process = try JobProcess.start(command: job.command, environment: environment, workingDirectory: job.workingDirectory)
        } catch {
            return CompletionReport(exitCode: nil, reason: "could not start the command: \(error)")
        }
        let shipper = LogShipper(client: client, attemptID: job.attemptID, maxChunk: job.maxLogChunkBytes, logger: logger)
        let interval = Duration.milliseconds(job.heartbeatIntervalMilliseconds)
        let terminated = SignalForwarder()
        // The group's parts: the command's exit, what the shipper could not ship, the heartbeats.
        enum Part { case exit(ProcessExit), shipped(undelivered: String?), heartbeats }
        let (status, undelivered) = await withTaskGroup(of: Part.self) { group -> (ProcessExit, String?) in
            group.addTask { .shipped(undelivered: await shipper.ship(process.output)) }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    do { try await client.heartbeat(attemptID: job.attemptID) } catch {
                        logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
                    }
                }
                return .heartbeats
            }
            group.addTask {
                let exit = await process.waitForExit()
                // A stopped job's processes have had their SIGTERM already: end them quickly.
                let stopped = terminated.fired
                await process.settle(drain: stopped ? .milliseconds(500) : Self.outputDrain, grace: stopped ? .seconds(1) : Self.killGrace)
                return .exit(exit)
            }
            var exit: ProcessExit?
            var shipped = false
            var undelivered: String?
            for await part in group {
                switch part {
                case .exit(let status): exit = status
                case .shipped(let missing): (shipped, undelivered) = (true, missing)
                case .heartbeats: break
                }
                // The command ended and its output is shipped: stop heartbeating.
                if exit != nil && shipped { group.cancelAll() }
            }
            return (exit!, undelivered)
        }
        terminated.stop()
        switch status {
        case .exited(let code):
            return CompletionReport(exitCode: code, reason: terminated.fired ? Self.stoppedReason : nil, outputIncomplete: undelivered)
        case .signaled(let signal):
            return CompletionReport(
                exitCode: 128 + signal, reason: terminated.fired ? Self.stoppedReason : "killed by signal \(signal)", outputIncomplete: undelivered)
        }
    }

    static let stoppedReason = CompletionReport.stoppedReason
    /// How long the output pipes may stay open after the command's main process ended (a
    /// background child still writing) before the job's leftover processes are stopped.
    public static let outputDrain = Duration.seconds(2)
    /// How long leftover processes get between SIGTERM and SIGKILL once the job ended.
    public static let killGrace = Duration.seconds(5)

    private func deliver(_ report: CompletionReport, for job: ClaimedJob, attempts: Int) async {
        var delay = 0.25
        for attempt in 1...attempts {
            do {
                try await client.complete(attemptID: job.attemptID, report: report)
                logger.info("reported", metadata: ["job.name": "\(job.job)", "exit.code": "\(report.exitCode.map(String.init) ?? "none")"])
                return
            } catch let error as RunnerError where !error.isRetryable {
                logger.error("report refused", metadata: ["error": "\(error)"])
                return
            } catch {
                logger.warning("report not delivered yet", metadata: ["try": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 5)
            }
        }
    }
}

extension RunnerAgent {
    /// The agent as a process runs it (`runway runner`, `runway-runner`): its configuration from
    /// `environment`, then the run; the process's exit status. 2 when the environment is not a
    /// task's (the agent runs only inside a task the controller started).
    public static func main(environment: [String: String], name: String) async -> Int32 {
        let configuration: Configuration
        do {
            configuration = try Configuration.fromEnvironment(environment)
        } catch {
            FileHandle.standardError.write(Data("\(name): \(error): the runner agent runs inside a task the controller started\n".utf8))
            return 2
        }
        var logger = Logger(label: "runway.runner")
        logger.logLevel = .info
        return await RunnerAgent(configuration: configuration, logger: logger).run()
    }
}

extension RunnerAgent {
    /// `runway-runner --install DIR`: copies the runner bundle into `DIR`, for a platform that
    /// brings the runner into a job's image through a volume filled by a container of the runner
    /// image (Kubernetes, Nomad, ECS). The bundle is the one this runner was started from (its
    /// executable, or the bundle's loader, sits in a bundle's `bin` or `lib`), else the runner
    /// image's, ``RunnerBundle/path``.
    public static func installBundle(into directory: String, from given: String? = nil) throws {
        let files = FileManager.default
        let bundle = given ?? ownBundle() ?? RunnerBundle.path
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for entry in try files.contentsOfDirectory(atPath: bundle) {
            let target = directory + "/" + entry
            if files.fileExists(atPath: target) { try files.removeItem(atPath: target) }
            try files.copyItem(atPath: bundle + "/" + entry, toPath: target)
        }
    }

    /// The bundle holding the running executable (`/proc/self/exe`: the runner, or the bundle's
    /// `ld.so` when started through it), or nil when it runs from elsewhere.
    static func ownBundle() -> String? {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let root = URL(fileURLWithPath: executable).deletingLastPathComponent().deletingLastPathComponent().path
        let files = FileManager.default
        return files.fileExists(atPath: root + "/bin/runway-runner") && files.fileExists(atPath: root + "/lib/ld.so") ? root : nil
    }
}
