import CoreMetrics
import Foundation
import Synchronization

/// Every metric Runway reports, through swift-metrics with an injected factory (the executable
/// passes swift-prometheus's; tests and tools may pass none). Names follow Prometheus
/// conventions: counters end in `_total`, durations are seconds.
public final class RunwayMetrics: Sendable {
    let factory: any MetricsFactory
    /// Label sets last reported for the gauges that are rebuilt each pass (so a vanished
    /// combination drops to zero instead of keeping a stale value); the mutex guards them.
    private let lastTasks = Mutex<Set<[String]>>([])

    public static let jobStates = ["pending", "held", "running", "succeeded", "failed", "cancelled"]

    /// The HELP text of each metric. swift-metrics carries none, so the exposition gets these
    /// added by ``withHelp(_:)``.
    public static let help: [String: String] = [
        "runway_jobs": "Jobs of the current desired state, by the state of their record.",
        "runway_job_queue_seconds": "Time from a job (or its retry) becoming due to its runner taking it.",
        "runway_task_start_seconds": "Time from a task start requested to its runner connected.",
        "runway_job_duration_seconds": "Time from a runner taking its job to its report.",
        "runway_reconcile_duration_seconds": "Duration of one reconcile pass.",
        "runway_manifest_load_duration_seconds": "Duration of one load of the manifest directory (only changed files are decoded again).",
        "runway_reconcile_errors_total": "Reconcile passes and actions that failed.",
        "runway_launcher_requests_total": "Launcher calls by plugin, operation and outcome.",
        "runway_tasks": "Tasks of this controller as last observed, by profile and state.",
        "runway_orphans_stopped_total": "Tasks of ours that no job owned, stopped.",
        "runway_output_capped_total": "Attempts whose output reached the per-attempt cap and was cut.",
        "runway_manifest_errors": "Errors in the last load of the manifests (0 when valid).",
        "runway_leader": "1 while this controller holds the leader lease.",
        "runway_fenced_writes_total": "Writes the store refused because this controller's lease token was no longer current.",
    ]

    /// Prometheus text with a `# HELP` line before each of Runway's `# TYPE` lines.
    public static func withHelp(_ exposition: String) -> String {
        var out = ""
        out.reserveCapacity(exposition.utf8.count + 2048)
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first, let text = help[String(name)] {
                out += "# HELP \(name) \(text)\n"
            }
            out += line + "\n"
        }
        return String(out.dropLast())
    }

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        // Report every metric from the start, so dashboards and `promtool` see them all.
        setJobs([:])
        setManifestErrors(0)
        setLeader(false)
        _ = counter("runway_reconcile_errors_total")
        _ = counter("runway_orphans_stopped_total")
        _ = counter("runway_output_capped_total")
        _ = counter("runway_fenced_writes_total")
        for operation in ["start", "stop", "list"] {
            _ = counter("runway_launcher_requests_total", [("plugin", "local"), ("operation", operation), ("outcome", "ok")])
        }
    }

    private func counter(_ name: String, _ dimensions: [(String, String)] = []) -> Counter {
        Counter(label: name, dimensions: dimensions, factory: factory)
    }

    private func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> Gauge {
        Gauge(label: name, dimensions: dimensions, factory: factory)
    }

    private func timer(_ name: String) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: name, dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
    }

    /// `runway_jobs{state}`: jobs of the current desired state by their record's state.
    public func setJobs(_ counts: [String: Int]) {
        for state in Self.jobStates { gauge("runway_jobs", [("state", state)]).record(counts[state] ?? 0) }
    }

    /// `runway_job_queue_seconds`: from a job (or retry) becoming due to its runner taking it.
    public func jobQueued(seconds: Double) { timer("runway_job_queue_seconds").recordSeconds(seconds) }

    /// `runway_task_start_seconds`: from a start requested to its runner connected.
    public func taskStarted(seconds: Double) { timer("runway_task_start_seconds").recordSeconds(seconds) }

    /// `runway_job_duration_seconds`: from running to reported.
    public func jobRan(seconds: Double) { timer("runway_job_duration_seconds").recordSeconds(seconds) }

    /// `runway_reconcile_duration_seconds`: one whole pass.
    public func reconciled(seconds: Double) { timer("runway_reconcile_duration_seconds").recordSeconds(seconds) }

    /// `runway_manifest_load_duration_seconds`: one load of the manifest directory.
    public func manifestsLoaded(seconds: Double) { timer("runway_manifest_load_duration_seconds").recordSeconds(seconds) }

    /// `runway_reconcile_errors_total`: a failed pass or action.
    public func reconcileFailed() { counter("runway_reconcile_errors_total").increment() }

    /// `runway_launcher_requests_total{plugin,operation,outcome}`.
    public func launcherRequest(plugin: String, operation: String, succeeded: Bool) {
        counter("runway_launcher_requests_total", [("plugin", plugin), ("operation", operation), ("outcome", succeeded ? "ok" : "error")])
            .increment()
    }

    /// `runway_tasks{profile,state}`: tasks of ours as last observed.
    public func setTasks(_ counts: [[String]: Int]) {
        let gone = lastTasks.withLock { last in
            defer { last = Set(counts.keys) }
            return last.subtracting(counts.keys)
        }
        for key in gone { gauge("runway_tasks", [("profile", key[0]), ("state", key[1])]).record(0) }
        for (key, count) in counts { gauge("runway_tasks", [("profile", key[0]), ("state", key[1])]).record(count) }
    }

    /// `runway_orphans_stopped_total`.
    public func orphanStopped() { counter("runway_orphans_stopped_total").increment() }

    /// `runway_output_capped_total`: an attempt's output reached the cap.
    public func outputCapped() { counter("runway_output_capped_total").increment() }

    /// `runway_manifest_errors`: errors of the last load (0 when valid).
    public func setManifestErrors(_ count: Int) { gauge("runway_manifest_errors").record(count) }

    /// `runway_leader`: 1 while this controller holds the lease.
    /// `runway_fenced_writes_total`: a write refused because another controller leads now.
    public func fencedWrite() { counter("runway_fenced_writes_total").increment() }

    public func setLeader(_ leading: Bool) { gauge("runway_leader").record(leading ? 1 : 0) }
}
