import Synchronization

/// A flag set on one thread (a signal handler, the manifest watcher) and read by the loop.
public final class AtomicFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func set() { flag.store(true, ordering: .relaxed) }
    /// Sets the flag to `value` and returns what it was.
    public func exchange(_ value: Bool) -> Bool { flag.exchange(value, ordering: .relaxed) }
    public var isSet: Bool { flag.load(ordering: .relaxed) }

    /// Reads and clears the flag.
    public func take() -> Bool { exchange(false) }
}
