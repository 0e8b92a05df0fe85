import Foundation
import Logging
import RunwayController
import RunwayLaunchers
import RunwayModel
import RunwayServer
import RunwayStore

/// What `apply` and `controller` both run on: the store, the holding set, the wake-ups, the
/// metrics and the runner API, and the reconciler made once the API is bound.
struct ControllerRuntime: Sendable {
    let options: ControllerOptions
    let stateDirectory: String
    /// The launchers: they check profile configs at load time and run the tasks.
    let launchers: LauncherRegistry
    let store: any StateStore
    let holding = HoldingSet()
    let wakeups = Wakeups()
    let metrics = Metrics()
    let api: RunnerAPI
    /// Runner calls go to the leader: a standby sends them there.
    let routing: RunnerRouting

    init(
        options: ControllerOptions, stateDirectory: String, launchers: LauncherRegistry,
        readiness: @escaping @Sendable () -> (ready: Bool, detail: String),
        desired: @escaping @Sendable () -> DesiredState?
    ) async throws {
        HeapSettings.limitArenas()
        if let limit = OpenFileLimit.raise(), let warning = OpenFileLimit.warning(limit: limit, maxConnections: options.maxConnections) {
            Wiring.logger("runway.controller").warning("\(warning)")
        }
        self.options = options
        self.stateDirectory = stateDirectory
        self.launchers = launchers
        let store = try await options.openStore(stateDirectory: stateDirectory, observer: EventLog.observer(Wiring.logger("runway.jobs")))
        self.store = store
        let routing = RunnerRouting(store: store, leaseName: LeaderLease.Configuration().name)
        self.routing = routing
        api = APIServer.api(
            stateDirectory: stateDirectory, store: store, holding: holding, wakeups: wakeups,
            heartbeatInterval: options.heartbeatInterval.value, maxOutputBytes: options.maxOutput.bytes, metrics: metrics,
            policy: try options.trustPolicy(base: launchers.trust, stateDirectory: stateDirectory, logger: Wiring.logger("runway.api")),
            readiness: readiness, route: { await routing.route() }, desired: desired)
    }

    /// Serves the runner API on `--listen` while `body` runs with the reconciler for the bound port,
    /// which it announces on stderr as `runway COMMAND: runner API on HOST:PORT` (with `--listen
    /// HOST:0` the system picks the port, and this line is where to read it).
    func serve<T: Sendable>(command: String, logger: Logger, _ body: @escaping @Sendable (Reconciler, Int) async throws -> T)
        async throws -> T
    {
        let (host, port) = options.listenAddress!
        let serverCA = try options.taskCA()
        return try await APIServer.serve(api, host: host, port: port, tls: try options.serverTLS(), maxConnections: options.maxConnections,
            idleTimeout: options.idleTimeout.value) { actualPort in
            FileHandle.standardError.write(Data("runway \(command): runner API on \(host):\(actualPort)\n".utf8))
            var reconciler = options.reconciler(
                port: actualPort, serverCA: serverCA, launchers: launchers, store: store, holding: holding, metrics: metrics.runway,
                logger: logger)
            let service = api.service
            reconciler.beforePass = {
                try await service.flushPendingReports()
                try await service.flushHeartbeats()
                return service.takeWrittenHeartbeats()  // noted on the pass's records
            }
            let wakeups = self.wakeups
            reconciler.afterAction = { wakeups.signal() }
            launchers.notifyChanges { wakeups.signal() }  // a task that changes on a watched platform wakes a pass
            let lease = reconciler.lease
            routing.follow { lease?.isLeader ?? true }
            return try await body(reconciler, actualPort)
        }
    }
}
