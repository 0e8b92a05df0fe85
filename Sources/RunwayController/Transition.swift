import Foundation
import RunwayModel

/// Event-trail wording for record changes and waits.
enum Transition {
    static func event(from previous: JobRecord?, to record: JobRecord, at now: Date) -> JobEvent {
        let reason = record.lastReason ?? ""
        switch record.state {
        case .held where previous?.attempt != record.attempt || previous == nil:
            return JobEvent(record, attempt: record.attempt, at: now, kind: "adopted", message: "adopted the live task of attempt \(record.attempt)")
        case .pending:
            let wait = record.nextAttemptAt.map { String(format: "; retry in %.1fs", $0.timeIntervalSince(now)) } ?? ""
            return JobEvent(record, attempt: record.attempt, at: now, kind: "attempt-failed", message: reason + wait)
        case .failed:
            return JobEvent(record, attempt: record.attempt, at: now, kind: "failed", message: reason)
        case .cancelled:
            return JobEvent(record, attempt: record.attempt, at: now, kind: "cancelled", message: reason)
        default:
            return JobEvent(record, attempt: record.attempt, at: now, kind: record.state.rawValue, message: reason)
        }
    }

    static func waitMessage(_ wait: PlanAction.Wait) -> String {
        switch wait.reason {
        case .maxConcurrent(let live, let limit):
            "waiting: profile \(wait.profile) has \(live)/\(limit) tasks running"
        default:
            "waiting: \(wait.reason.detail)"
        }
    }
}
