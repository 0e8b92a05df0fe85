import Foundation
import RunwayModel
import Synchronization

/// The plan's starts and stops, carried out in the background so a pass never waits on a
/// platform: a pass hands its actions over and ends. Keyed by task name: a task's action still
/// in flight is not given again (a later pass sees how it ended). Each plugin has `parallelism`
/// slots of its own, so a platform whose calls are slow or hang holds up only its own actions,
/// never another platform's starts, stops, timeouts or heartbeat checks. Starts in flight are
/// fed back to the planner as `pending` tasks, so the planner's inputs say everything.
final class ActionQueue: Sendable {
    private struct Entry {
        var plugin: String
        /// What a start in flight stands for until its task is listed.
        var starting: ObservedTask?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let slots = Mutex<[String: Slots]>([:])
    let parallelism: Int

    init(parallelism: Int) {
        self.parallelism = max(1, parallelism)
    }

    /// Carries out `body` for `key` in the background, after `waitingFor`, unless an action of
    /// `key` is in flight (then nil). `done` runs when it ends.
    @discardableResult
    func dispatch(
        _ key: String, plugin: String, starting: ObservedTask? = nil, after waitingFor: [Task<Void, Never>] = [],
        done: @escaping @Sendable () -> Void, _ body: @escaping @Sendable () async -> Void
    ) -> Task<Void, Never>? {
        let slots = self.slots.withLock { slots in
            if let existing = slots[plugin] { return existing }
            let made = Slots(parallelism)
            slots[plugin] = made
            return made
        }
        return entries.withLock { entries -> Task<Void, Never>? in
            guard entries[key] == nil else { return nil }
            let work = Task {
                for earlier in waitingFor { await earlier.value }
                await slots.acquire()
                await body()
                await slots.release()
                self.entries.withLock { _ = $0.removeReleasing(key) }
                done()
            }
            entries[key] = Entry(plugin: plugin, starting: starting)
            return work
        }
    }

    /// The starts of `plugin` in flight whose tasks `listed` does not show yet.
    func starting(plugin: String, notIn listed: Set<String>) -> [ObservedTask] {
        entries.withLock { entries in
            entries.compactMap { key, entry in entry.plugin == plugin && !listed.contains(key) ? entry.starting : nil }
        }.sorted { $0.name < $1.name }
    }

    var inFlight: Int { entries.withLock { $0.count } }

    /// Waits until nothing is in flight, or `limit` passes; returns whether it is idle.
    func settle(within limit: Duration) async -> Bool {
        let end = ContinuousClock.now + limit
        while inFlight > 0 {
            if ContinuousClock.now >= end { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }
}

/// A plugin's action slots: at most `count` of its actions run at once; the others wait in order.
private actor Slots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
