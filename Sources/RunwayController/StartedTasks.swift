import Foundation
import RunwayModel
import Synchronization

/// The tasks this controller started, until they are stopped or gone.
///
/// Some platforms list what they were just asked to run only after a while (ECS's ListTasks is
/// eventually consistent; a Kubernetes list may be served from a lagging cache), so a task no
/// listing has shown yet is added to its platform's listing as `pending`, until a listing shows
/// it or its profile's `startTimeout` has passed: a started task is neither started a second
/// time nor forgotten, and its start timeout stops it by the handle the platform gave.
/// `apply` also stops from here what it started on a platform it can no longer list.
/// The mutex guards the table.
final class StartedTasks: Sendable {
    private struct Entry {
        var task: ObservedTask
        /// Stands in for the task until then, while no listing has shown it.
        var standInUntil: Date
        var seen = false
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Tasks stopped a moment ago and possibly still listed while their platform tears them
    /// down, until when they are left out of listings (not stopped twice).
    private let stopping = Mutex<[String: (plugin: String, until: Date)]>([:])

    /// Remembers a task the platform accepted; it stands in for itself until `until` at the latest.
    func started(_ task: ObservedTask, standInUntil until: Date) {
        entries.withLock { $0[task.name] = Entry(task: task, standInUntil: until) }
    }

    /// A stopped task is forgotten; listings leave it out while its platform tears it down
    /// (until `until`, or until a listing no longer shows it).
    func stopped(_ task: ObservedTask, leftOutUntil until: Date) {
        _ = entries.withLock { $0.removeReleasing(task.name) }
        stopping.withLock { $0[task.name] = (task.plugin, until) }
    }

    /// Whether the task was stopped a moment ago (a pass that observed it before the stop must
    /// not stop it again).
    func isStopping(_ name: String) -> Bool {
        stopping.withLock { $0[name].map { $0.until > Date() } ?? false }
    }

    /// `listed` (one platform's whole listing) plus the tasks of `plugin` it does not show yet.
    /// A task once listed and now missing is gone, and forgotten.
    func complete(_ listed: [ObservedTask], plugin: String, now: Date) -> [ObservedTask] {
        let names = Set(listed.map(\.name))
        let leftOut = stopping.withLock { stopping -> Set<String> in
            stopping = stopping.filter { $0.value.plugin != plugin || (names.contains($0.key) && $0.value.until > now) }
            return Set(stopping.filter { $0.value.plugin == plugin }.keys)
        }
        let listed = listed.filter { !leftOut.contains($0.name) }
        entries.withLock { entries in
            // Changed after the walk (a change while walking would copy the whole table).
            var seen: [String] = []
            var gone: [String] = []
            for (name, entry) in entries where entry.task.plugin == plugin {
                if names.contains(name) {
                    if !entry.seen { seen.append(name) }
                } else if entry.seen {
                    gone.append(name)
                }
            }
            for name in seen { entries[name]?.seen = true }
            for name in gone { entries.removeReleasing(name) }
        }
        return listed + standIns(plugin: plugin, notIn: names, now: now).sorted { $0.name < $1.name }
    }

    /// The tasks of `plugin` started since a listing was taken (not in `listed`, never listed,
    /// still within their stand-in time): a start that ended after a pass observed its platform
    /// stands in for its task in that pass all the same.
    func standIns(plugin: String, notIn listed: Set<String>, now: Date) -> [ObservedTask] {
        entries.withLock { entries in
            entries.values.filter { $0.task.plugin == plugin && !$0.seen && $0.standInUntil > now && !listed.contains($0.task.name) }
                .map(\.task)
        }
    }

    /// Every task remembered (started and not known to be stopped or gone).
    var all: [ObservedTask] {
        entries.withLock { $0.values.map(\.task) }.sorted { $0.name < $1.name }
    }
}
