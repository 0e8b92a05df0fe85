import Foundation

/// The outcome of one planning pass: sorted actions, each with its reason. Stops come first
/// (they free capacity), then starts, then waits; each group by task or job name.
public struct Plan: Sendable, Hashable {
    public var actions: [PlanAction]

    public init(actions: [PlanAction]) {
        // Keys computed once per action, not once per comparison.
        self.actions = actions.map { (Plan.sortKey($0), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
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

    private static func sortKey(_ action: PlanAction) -> SortKey {
        switch action {
        case .stop(let stop): SortKey(group: 0, name: stop.task.name, plugin: stop.task.plugin, id: stop.task.id, attempt: 0)
        case .start(let start): SortKey(group: 1, name: start.job, plugin: "", id: "", attempt: start.attempt)
        case .wait(let wait): SortKey(group: 2, name: wait.job, plugin: "", id: "", attempt: 0)
        }
    }

    private struct SortKey: Comparable {
        var group: Int
        var name: String
        var plugin: String
        var id: String
        var attempt: Int

        static func < (a: SortKey, b: SortKey) -> Bool {
            (a.group, a.name, a.plugin, a.id, a.attempt) < (b.group, b.name, b.plugin, b.id, b.attempt)
        }
    }
}
