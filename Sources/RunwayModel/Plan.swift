import Foundation

/// The outcome of one planning pass: sorted actions, each with its reason. Stops come first
/// (they free capacity), then starts, then waits; each group by task or job name.
public struct Plan: Sendable, Hashable {
    public var actions: [PlanAction]

    public init(actions: [PlanAction]) {
        self.actions = actions.sorted(by: Plan.precedes)
    }

    public var starts: [PlanAction.Start] {
        actions.compactMap { if case .start(let start) = $0 { start } else { nil } }
    }

    public var stops: [PlanAction.Stop] {
        actions.compactMap { if case .stop(let stop) = $0 { stop } else { nil } }
    }

    public var waits: [PlanAction.Wait] {
        actions.compactMap { if case .wait(let wait) = $0 { wait } else { nil } }
    }

    /// True when the plan changes nothing on any platform (it may still report waits).
    public var changesNothing: Bool { starts.isEmpty && stops.isEmpty }

    private static func precedes(_ a: PlanAction, _ b: PlanAction) -> Bool {
        func key(_ action: PlanAction) -> (Int, String, String, String) {
            switch action {
            case .stop(let stop): (0, stop.task.name, stop.task.plugin, stop.task.id)
            case .start(let start): (1, start.job, String(start.attempt), "")
            case .wait(let wait): (2, wait.job, "", "")
            }
        }
        return key(a) < key(b)
    }
}
