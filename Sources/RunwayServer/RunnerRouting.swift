import Foundation
import RunwayStore
import Synchronization

/// Where a runner's call goes.
public enum RunnerRoute: Sendable, Equatable {
    /// This controller leads: it serves the call.
    case serve
    /// A standby: the leader serves runners at this base URL (`307`, same method and body).
    case redirect(to: String)
    /// No leader can take the call now (`503` with `Retry-After`); the runner retries.
    case unavailable(String)
}

/// Sends runner calls to the leader. Only the leader holds jobs for their runners, so a standby
/// answers a runner with the leader's runner API (published as the `leader.url` fact while it
/// leads and the lease is current), or with 503 while no live leader is known, e.g. during a
/// failover, until the lease passes to a controller that serves. When the store cannot be read
/// (so nobody can tell who leads), the call is taken here.
public final class RunnerRouting: Sendable {
    let store: any StateStore
    let leaseName: String
    /// Whether this controller leads now; nil until the controller is set up. The function sits
    /// in a struct: a function value stored directly in a `Mutex` is re-wrapped in two
    /// reabstraction thunks by every `withLock`, even one that only reads it, so each runner call
    /// made the chain longer (a runner API that slowed with every call, and would in the end
    /// overflow its stack).
    private let leading = Mutex<LeaderCheck?>(nil)

    private struct LeaderCheck: Sendable {
        let isLeader: @Sendable () -> Bool
    }
    /// The standby's last answer and when it was found: one store read per second at most,
    /// however many runners call during a failover.
    private let cached = Mutex<(route: RunnerRoute, at: ContinuousClock.Instant)?>(nil)

    public init(store: any StateStore, leaseName: String) {
        self.store = store
        self.leaseName = leaseName
    }

    /// Serves runner calls whenever `isLeader` says so.
    public func follow(_ isLeader: @escaping @Sendable () -> Bool) {
        leading.withLock { $0 = LeaderCheck(isLeader: isLeader) }
    }

    public func route() async -> RunnerRoute {
        guard let check = leading.withLock({ $0 }) else { return .unavailable("the controller is starting") }
        if check.isLeader() { return .serve }
        if let last = cached.withLock({ $0 }), ContinuousClock.now - last.at < .seconds(1) { return last.route }
        let route: RunnerRoute
        do {
            let lease = try await store.lease(leaseName)
            let facts = try await store.controllerFacts()
            if let lease, lease.expiresAt > Date(), facts["leader"] == lease.holder, let url = facts["leader.url"], !url.isEmpty {
                route = .redirect(to: url)
            } else {
                route = .unavailable("this controller stands by and no leader holds the lease yet")
            }
        } catch {
            // No way to find the leader: take the call here. Its writes wait for the store like
            // the leader's would, and a completion report is kept until the store answers.
            route = .serve
        }
        cached.withLock { $0 = (route, ContinuousClock.now) }
        return route
    }
}
