import Foundation
import RunwayModel
import Synchronization

/// Tasks this controller started and no listing has shown yet. Some platforms list what they
/// were just asked to run only after a while (ECS's ListTasks is eventually consistent; a
/// Kubernetes list may be served from a lagging cache), so each is added to its platform's
/// listing as a `pending` task until a listing shows it or its profile's `startTimeout` has
/// passed: a missing-but-started task is neither started a second time nor forgotten, and its
/// start timeout stops it by the handle the platform gave. The mutex guards the table.
final class RecentStarts: Sendable {
    private struct Entry {
        var task: ObservedTask
        var until: Date
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Remembers a task the platform accepted, until `until` at the latest.
    func started(_ task: ObservedTask, until: Date) {
        entries.withLock { $0[task.name] = Entry(task: task, until: until) }
    }

    /// A stopped task needs no standing in for.
    func forget(_ name: String) {
        _ = entries.withLock { $0.removeValue(forKey: name) }
    }

    /// `listed` (one platform's listing) plus the tasks of `plugin` it does not show yet. Tasks
    /// the listing shows, and those past their time, are forgotten.
    func complete(_ listed: [ObservedTask], plugin: String, now: Date) -> [ObservedTask] {
        let names = Set(listed.map(\.name))
        let missing = entries.withLock { entries -> [ObservedTask] in
            entries = entries.filter { !(names.contains($0.key) || $0.value.until <= now) }
            return entries.values.filter { $0.task.plugin == plugin }.map(\.task)
        }
        return listed + missing.sorted { $0.name < $1.name }
    }
}
