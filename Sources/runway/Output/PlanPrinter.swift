import Foundation
import RunwayModel

/// The human and JSON forms of a plan.
enum PlanPrinter {
    static func text(_ plan: Plan) -> String {
        var out = "Plan: \(plan.starts.count) to start, \(plan.stops.count) to stop, \(plan.waits.count) waiting\n"
        guard !plan.actions.isEmpty else { return out + "Nothing to do.\n" }
        let width = plan.actions.map { subject(of: $0).count }.max() ?? 0
        out += "\n"
        for action in plan.actions {
            let name = subject(of: action).padding(toLength: width, withPad: " ", startingAt: 0)
            switch action {
            case .start(let start):
                let run = start.run > 1 ? "run \(start.run), " : ""
                out += "  + start  \(name)  \(run)attempt \(start.attempt) on \(start.profile), generation \(start.generation.short)"
                out += "  (\(start.reason.code): \(start.reason.detail))\n"
            case .stop(let stop):
                out += "  - stop   \(name)  \(stop.task.plugin) task \(stop.task.id)  (\(stop.reason.rawValue))\n"
            case .wait(let wait):
                out += "  ~ wait   \(name)  on \(wait.profile)  (\(wait.reason.detail))\n"
            }
        }
        return out
    }

    private static func subject(of action: PlanAction) -> String {
        switch action {
        case .start(let start): start.job
        case .stop(let stop): stop.task.name
        case .wait(let wait): wait.job
        }
    }

    struct Document: Encodable {
        var actions: [Action]
    }

    /// One action; fields that do not apply to its kind are omitted.
    struct Action: Encodable {
        var action: String
        var job: String?
        var profile: String?
        var generation: String?
        var run: Int?
        var attempt: Int?
        var task: String?
        var taskID: String?
        var plugin: String?
        var reason: String
        var detail: String?
        var until: Date?
    }

    static func document(_ plan: Plan) -> Document {
        Document(actions: plan.actions.map { action in
            switch action {
            case .start(let start):
                Action(
                    action: "start", job: start.job, profile: start.profile, generation: start.generation.digest, run: start.run,
                    attempt: start.attempt, reason: start.reason.code, detail: start.reason.detail)
            case .stop(let stop):
                Action(
                    action: "stop", job: stop.task.owner?.job, profile: stop.task.owner?.profile,
                    generation: stop.task.owner?.generation.digest, run: stop.task.owner?.run, attempt: stop.task.owner?.attempt,
                    task: stop.task.name, taskID: stop.task.id, plugin: stop.task.plugin, reason: stop.reason.rawValue)
            case .wait(let wait):
                Action(
                    action: "wait", job: wait.job, profile: wait.profile, run: wait.run, reason: wait.reason.code,
                    detail: wait.reason.detail,
                    until: wait.reason.until)
            }
        })
    }
}
