import Foundation
import RunwayModel
import RunwayServer
import Synchronization

/// Live progress of `apply`: on a terminal, one line per job redrawn in place; otherwise one
/// plain line each time a job changes state or attempt.
final class ProgressPrinter: Sendable {
    private struct State {
        var seen: [String: String] = [:]
        var drawnLines = 0
    }

    let interactive: Bool
    let started = Date()
    /// What was printed last; the mutex guards it.
    private let state = Mutex(State())

    init(interactive: Bool) {
        self.interactive = interactive
    }

    func update(_ records: [JobRecord], desired: DesiredState) {
        // Each job's current run: its current generation's latest (a scheduled job's run waiting
        // for its tick only when it has no other).
        let byJob = Dictionary(grouping: records.filter { desired.jobs[$0.job]?.generation == $0.generation }, by: \.job)
        let current = byJob.values.compactMap { JobRecord.current(of: $0) }.sorted { $0.job < $1.job }
        let now = Date()
        state.withLock { state in
            if interactive {
                var out = state.drawnLines > 0 ? "\u{1B}[\(state.drawnLines)A\u{1B}[J" : ""
                let width = current.map(\.job.count).max() ?? 0
                for record in current {
                    out += "\(record.job.padding(toLength: width, withPad: " ", startingAt: 0))  "
                        + "\(record.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  attempt \(record.attempt)  "
                        + "\(Self.elapsed(since: record.createdAt, now: record.state.isTerminal ? record.updatedAt : now))\n"
                }
                state.drawnLines = current.count
                FileHandle.standardOutput.write(Data(out.utf8))
            } else {
                for record in current {
                    let line = "\(record.state.rawValue) (\(record.run > 1 ? "run \(record.run), " : "")attempt \(record.attempt))"
                    guard state.seen[record.job] != line else { continue }
                    state.seen[record.job] = line
                    let reason = record.state == .pending && record.attempt > 0 ? ": \(record.lastReason ?? "")" : ""
                    print("[\(Self.elapsed(since: started, now: now))] \(record.job): \(line)\(reason)")
                }
            }
        }
    }

    static func elapsed(since start: Date, now: Date) -> String {
        String(format: "%.1fs", max(0, now.timeIntervalSince(start)))
    }
}

/// The table printed when `apply` ends.
enum SummaryTable {
    static func text(_ jobs: [JobStatusDocument], cancelled: Bool) -> String {
        let header = ["JOB", "STATE", "ATTEMPTS", "EXIT", "DURATION", "REASON"]
        let succeeded = JobRecord.State.succeeded.rawValue
        let rows = jobs.map { job -> [String] in
            [
                job.job, job.state, String(job.attempts), job.exitCode.map(String.init) ?? "-",
                ProgressPrinter.elapsed(since: job.createdAt, now: job.updatedAt),
                job.state == succeeded ? "" : (job.lastReason ?? ""),
            ]
        }
        var out = "\n" + TextTable.render(header: header, rows: rows)
        out += "\n\(jobs.filter { $0.state == succeeded }.count)/\(jobs.count) jobs succeeded\(cancelled ? " (cancelled)" : "")\n"
        return out
    }
}
