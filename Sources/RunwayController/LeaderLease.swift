import Foundation
import Logging
import RunwayStore
import Synchronization

/// This controller's claim to lead: the store's lease, taken and renewed, and the fencing
/// token every start carries. Only the holder starts tasks; a deposed holder's late start is
/// refused by the store.
public final class LeaderLease: Sendable {
    /// Lease settings. Every default is documented on its property.
    public struct Configuration: Sendable {
        /// The lease's name in the store. Default `controller`.
        public var name = "controller"
        /// How long a lease lasts unless renewed: the longest a dead leader blocks a standby.
        /// Default 15 seconds.
        public var duration: Duration = .seconds(15)

        public init() {}
    }

    public let configuration: Configuration
    /// Unique per process: `<controller id>@<host>/<pid>/<random>`.
    public let holder: String
    let store: any StateStore
    let logger: Logger
    /// The lease as last taken or renewed; the mutex guards it.
    private let held = Mutex<Lease?>(nil)
    /// Why the last renewal failed, or nil when it reached the store.
    private let failure = Mutex<String?>(nil)
    /// When this controller last began to lead (runners could reach it from then on).
    private let began = Mutex<Date?>(nil)
    /// Called whenever the term this controller leads under changes (it begins to lead, leads
    /// again under a new token, or stops), before anyone sees it lead under the new one: what it
    /// learned under the old term (its runners' tokens) may be out of date.
    let onTermChange: @Sendable () -> Void

    /// When this controller began to lead, while it leads.
    public var leadingSince: Date? { isLeader ? began.withLock { $0 } : nil }

    /// Why the store did not answer the last renewal; nil when it did.
    public var storeProblem: String? { failure.withLock { $0 } }

    /// This host's wall clock (a test runs one ahead). Only ever compared with expiries the
    /// store has put on it; the store's own clock judges who holds the lease.
    let clock: @Sendable () -> Date

    public init(
        configuration: Configuration = Configuration(), controllerID: String, store: any StateStore, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }, onTermChange: @escaping @Sendable () -> Void = {}
    ) {
        self.clock = clock
        self.onTermChange = onTermChange
        self.configuration = configuration
        self.holder = "\(controllerID)@\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UInt32.random(in: 0...UInt32.max))"
        self.store = store
        self.logger = logger
    }

    /// The lease if this controller holds it now, with a fifth of its duration to spare, so a
    /// pass never begins on a lease about to lapse (renewals come every third).
    public var current: Lease? {
        let margin = (configuration.duration / 5).timeInterval
        return held.withLock { lease in
            guard let lease, lease.expiresAt.timeIntervalSince(clock()) > margin else { return nil }
            return lease
        }
    }

    public var isLeader: Bool { current != nil }

    /// Takes or renews the lease; returns whether this controller leads.
    @discardableResult
    public func refresh(now: Date? = nil) async -> Bool {
        do {
            var now = now
            if now == nil, store.isSingleHost, let current = try await store.lease(configuration.name), current.holder != holder,
                current.expiresAt > Date(), Self.isGone(current.holder)
            {
                // Its holder was killed on this host (a restarted controller): take over now
                // instead of waiting out the dead one's lease.
                logger.notice("the lease's holder is gone from this host; taking over", metadata: ["lease.holder": "\(current.holder)"])
                now = current.expiresAt.addingTimeInterval(0.001)
            }
            let lease = try await store.acquireLease(
                configuration.name, holder: holder, duration: configuration.duration, now: now, localNow: clock())
            failure.withLock { $0 = nil }
            if held.withLock({ $0?.token }) != lease?.token { onTermChange() }
            let before = held.withLock { held in
                defer { held = lease }
                return held
            }
            if let lease, before == nil {
                began.withLock { $0 = Date() }
                logger.notice("leading", metadata: ["lease.token": "\(lease.token)"])
            } else if let lease, let before, lease.token != before.token {
                // The lease lapsed between two renewals and was taken again: leadership starts
                // over, as it would after another replica had held it.
                began.withLock { $0 = Date() }
                logger.warning("the lease lapsed before it was renewed; leading again", metadata: ["lease.token": "\(lease.token)"])
            }
            if lease == nil, before != nil { logger.warning("lost the lease; standing by") }
            return lease != nil
        } catch {
            failure.withLock { $0 = "\(error)" }
            logger.error("cannot renew the lease", metadata: ["error": "\(error)"])
            return current != nil
        }
    }

    /// Whether `holder` (`<id>@<host>/<pid>/<random>`) ran on this host and its process is gone.
    static func isGone(_ holder: String) -> Bool {
        guard let at = holder.lastIndex(of: "@") else { return false }
        let parts = holder[holder.index(after: at)...].split(separator: "/")
        guard parts.count == 3, String(parts[0]) == ProcessInfo.processInfo.hostName, let pid = pid_t(parts[1]), pid > 0 else {
            return false
        }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Takes or renews the lease every third of its duration until cancelled, telling `renewed`
    /// each time whether this controller leads. Runs beside the passes, so a long pass never
    /// lets the lease lapse.
    public func keepRenewed(_ renewed: @Sendable (_ leading: Bool) async -> Void = { _ in }) async {
        while !Task.isCancelled {
            await renewed(await refresh())
            try? await Task.sleep(for: configuration.duration / 3)
        }
    }

    /// A write of ours was refused by the store's fence: another controller took the lease while
    /// this one was not looking (paused, partitioned). Stop acting as leader at once; the next
    /// renewal finds out who leads.
    public func stepDown(after refusal: FencedError) {
        onTermChange()
        let was = held.withLock { held in
            defer { held = nil }
            return held
        }
        logger.error(
            "fenced: the store refused a write of this controller because its lease is no longer current; standing by",
            metadata: [
                "lease.token": "\(refusal.lease.token)", "lease.current.holder": "\(refusal.current?.holder ?? "none")",
                "lease.current.token": "\(refusal.current.map { String($0.token) } ?? "none")", "was.leading": "\(was != nil)",
            ])
    }

    /// Who leads, for messages.
    public func leader() async -> Lease? { try? await store.lease(configuration.name) }

    /// Hands the lease over at once (clean shutdown).
    public func release() async {
        held.withLock { $0 = nil }
        try? await store.releaseLease(configuration.name, holder: holder)
    }
}
