import Foundation
import RunwayHTTP
import RunwayServer
import RunwayTestSupport
import Synchronization
import Testing

/// A job printing far more than the cap: its output is cut at the cap, the job goes on and
/// succeeds, its runner's memory stays bounded while it prints, and reading the log back streams
/// it without loading it into the controller's memory.
@Suite(.leavesNoProcesses) struct OutputCapTests {
    /// A process's resident set (`VmRSS`) or its peak (`VmHWM`), in bytes; nil once it is gone.
    static func memory(_ pid: Int32, _ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes << 10
    }

    static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let fields = stat.split(separator: ")").last?.split(separator: " ")
        else { return nil }
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    @Test func aGibibyteOfOutputIsCutAtTheCapWithBoundedMemory() async throws {
        let workspace = try Workspace()
        let gib = 1 << 30
        let flooded = workspace.root + "/flooded", go = workspace.root + "/go"
        // The job prints its gibibyte, says so, and then waits, so its runner is still there to
        // be measured (its peak, VmHWM, covers the whole flood) however slow the machine is.
        try workspace.write(
            "jobs.yaml",
            workspace.profile() + workspace.job(
                "flood", "yes | head -c \(gib); touch '\(flooded)'; while [ ! -f '\(go)' ]; do sleep 0.2; done", timeout: "10m"))
        let (controller, port) = try await RunningCommand.serving(directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)"]
        }
        defer { kill(controller.pid, SIGKILL) }
        let base = "http://127.0.0.1:\(port)"
        let token = try String(contentsOfFile: workspace.state + "/api-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        #expect(await RunningCommand.until(timeout: .seconds(600)) { FileManager.default.fileExists(atPath: flooded) }, "\(controller.stderr.suffix(2000))")
        // The runner is the parent of the job's shell (the one job process whose parent does not
        // carry the job's environment).
        let job = Set(workspace.liveJobProcesses)
        let runner = job.compactMap(Self.parent(of:)).first { !job.contains($0) }
        #expect(runner != nil, "the runner was seen: \(job)")
        let runnerPeak = runner.flatMap { Self.memory($0, "VmHWM") } ?? 0
        try "go".write(toFile: go, atomically: true, encoding: .utf8)
        #expect(await RunningCommand.until(timeout: .seconds(120)) { (try? await workspace.records()["flood"]?.state) == .succeeded },
            "\(controller.stderr.suffix(2000))")
        #expect(runnerPeak > 0 && runnerPeak < 64 << 20, "runner peak RSS \(runnerPeak >> 20) MiB")

        // Read back while the controller's resident memory is sampled.
        let sampling = Mutex<(peak: Int, done: Bool)>((0, false))
        let sampler = Task.detached {
            while !sampling.withLock({ $0.done }) {
                if let rss = Self.memory(controller.pid, "VmRSS") { sampling.withLock { $0.peak = max($0.peak, rss) } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let before = Self.memory(controller.pid, "VmRSS") ?? 0
        let cap = 100 << 20
        let marker = RunnerService.cutMarker(cap)
        var received = 0
        var tail: [UInt8] = []
        let response = try await HTTPClient().stream(HTTPRequest(
            method: "GET", url: base + "/v1/jobs/flood/logs", headers: [("Authorization", "Bearer \(token)")], timeout: .seconds(300)))
        #expect(response.status == 200)
        for try await piece in response.body {
            received += piece.count
            tail = Array((tail + piece).suffix(marker.count))
        }
        sampling.withLock { $0.done = true }
        await sampler.value
        let controllerPeak = sampling.withLock { $0.peak }
        print("output cap: runner peak RSS \(runnerPeak >> 20) MiB; controller RSS \(before >> 20) MiB before the read, \(controllerPeak >> 20) MiB at most during it; \(received) bytes read back")
        #expect(received == cap + marker.count)
        #expect(tail == marker)
        #expect(controllerPeak > 0 && controllerPeak < 200 << 20, "controller RSS \(controllerPeak >> 20) MiB while reading")
        let events = try await workspace.store().events(job: "flood").map(\.kind)
        #expect(events.filter { $0 == "output-capped" }.count == 1, "\(events)")
        let metrics = try await HTTPClient().send(HTTPRequest(method: "GET", url: base + "/metrics")).text
        #expect(metrics.contains("runway_output_capped_total 1"), "\(metrics.split(separator: "\n").filter { $0.contains("capped") })")
    }
}
