import Foundation
import Synchronization

/// Something done at most every `interval` (unless asked to do it now).
final class Pacing: Sendable {
    let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(every interval: Duration) {
        self.interval = interval
    }

    /// Whether it is due (`always`, or `interval` since it was last due); if so, now is the last.
    func due(always: Bool = false) -> Bool {
        let now = ContinuousClock.now
        return last.withLock { last in
            guard always || last.map({ now - $0 >= interval }) ?? true else { return false }
            last = now
            return true
        }
    }
}

/// Each waiting job's last recorded reason; the mutex guards the dictionary.
final class WaitMemory: Sendable {
    private let last = Mutex<[String: String]>([:])

    /// Remembers `current` (job → reason) and returns the jobs whose reason is new.
    func update(_ current: [String: String]) -> [String] {
        last.withLock { last in
            let changed = current.filter { last[$0.key] != $0.value }.map(\.key)
            last = current
            return changed
        }
    }
}
