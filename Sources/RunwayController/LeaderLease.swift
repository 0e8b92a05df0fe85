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

    /// Why the store did not answer the last renewal; nil when it did.
    public var storeProblem: String? { failure.withLock { $0 } }

    public init(configuration: Configuration = Configuration(), controllerID: String, store: any StateStore, logger: Logger) {
        self.configuration = configuration
        self.holder = "\(controllerID)@\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UInt32.random(in: 0...UInt32.max))"
        self.store = store
        self.logger = logger
    }

    /// The lease if this controller holds it now (with a margin, so a start never rides on a
    /// lease about to lapse).
    public var current: Lease? {
        held.withLock { lease in
            guard let lease, lease.expiresAt.timeIntervalSinceNow > 1 else { return nil }
            return lease
        }
    }

    public var isLeader: Bool { current != nil }

    /// Takes or renews the lease; returns whether this controller leads.
    @discardableResult
    public func refresh(now: Date = Date()) async -> Bool {
        do {
            let lease = try await store.acquireLease(configuration.name, holder: holder, duration: configuration.duration, now: now)
            failure.withLock { $0 = nil }
            let before = held.withLock { held in
                defer { held = lease }
                return held
            }
            if let lease, before == nil { logger.notice("leading", metadata: ["lease.token": "\(lease.token)"]) }
            if lease == nil, before != nil { logger.warning("lost the lease; standing by") }
            return lease != nil
        } catch {
            failure.withLock { $0 = "\(error)" }
            logger.error("cannot renew the lease", metadata: ["error": "\(error)"])
            return current != nil
        }
    }

    /// Who leads, for messages.
    public func leader() async -> Lease? { try? await store.lease(configuration.name) }

    /// Hands the lease over at once (clean shutdown).
    public func release() async {
        held.withLock { $0 = nil }
        try? await store.releaseLease(configuration.name, holder: holder)
    }
}
