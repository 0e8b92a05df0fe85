import Foundation
import RunwayModel
import RunwayPlanner

/// How the controller runs. Every default is documented on its property.
public struct ControllerConfiguration: Sendable {
    /// Names this installation on every platform (`runway.io/managed-by`). Default `runway`.
    public var controllerID: String = "runway"
    /// The runner API URL tasks are told to connect back to (`RUNWAY_SERVER_URL`): this
    /// controller's own, or, with replicas, every replica's or a service in front of them,
    /// comma-separated.
    public var serverURL: String
    /// This controller's own runner API URL, published while it leads so that a standby can
    /// send runners to it. Default: `serverURL`.
    public var advertiseURL: String
    /// The CA certificate (PEM text) tasks trust the runner API's TLS certificate by
    /// (`RUNWAY_SERVER_CA` on every task). Default none: plain HTTP, or a publicly trusted certificate.
    public var serverCA: String?
    /// How often runners heartbeat. Default 5 seconds.
    public var heartbeatInterval: Duration = .seconds(5)
    /// A running attempt silent for this long is stopped as `heartbeat-lost`. Default 30 seconds.
    public var heartbeatTimeout: Duration = .seconds(30)
    /// Finished runs older than this are compacted (attempts, events and logs removed; the record
    /// and its result stay), whatever their job's `historyLimit`; nil keeps them by the limit
    /// only. Default 30 days.
    public var historyRetention: Duration? = .seconds(30 * 86_400)
    /// How often the job records are all read again; between, a pass reads only those written
    /// since the last (`StateStore.jobRecords(changedSince:)`). Default 10 minutes.
    public var fullReload: Duration = .seconds(600)
    /// Largest log chunk the runner API accepts. Default 256 KiB.
    public var maxLogChunkBytes: Int = 256 << 10
    /// Starts and stops carried out at once on each platform. Default 8.
    public var parallelism: Int = 8
    /// Longest a platform's listing may take in a pass; past it the platform is treated as
    /// unlisted for the pass. Default 30 seconds.
    public var listTimeout: Duration = .seconds(30)
    /// How long a controller's pass waits for a platform's listing before it goes on without
    /// that platform (whose listing goes on for a later pass). Default 2 seconds.
    public var listPatience: Duration = .seconds(2)
    /// Backoff between a failed attempt and its retry.
    public var backoff: Backoff = Backoff()
    /// The controller's own image, for profiles that name none (`RUNWAY_IMAGE`).
    public var image: String?

    public init(serverURL: String, advertiseURL: String? = nil) {
        self.serverURL = serverURL
        self.advertiseURL = advertiseURL ?? serverURL
    }
}

/// Where the controller puts a job for its runner to claim (the runner API's holding set).
public protocol JobHolding: Sendable {
    /// Holds `job` for its attempt's runner until ``release(attempts:)``.
    func hold(_ job: ClaimedJob)
    func release(attempts: Set<String>)
    /// Holds exactly the jobs of `attempts` (what the store said from `readStartedAt`), dropping
    /// every other but those held since that read began (a start in flight held its job after
    /// it); `job` makes the job of an attempt not held yet.
    func holdOnly(attempts: [String], readStartedAt: ContinuousClock.Instant, job: (String) -> ClaimedJob?)
    /// A token just issued for `attemptID`: its runner's calls are let in from now on.
    func allowToken(hash: String, attemptID: String)
    /// The tokens runners may call with, as the store holds them (read from `readStartedAt`).
    func replaceTokens(with hashes: [String: String], readStartedAt: ContinuousClock.Instant)
    /// Leadership changed hands: the tokens known may miss some another controller issued, so a
    /// call with an unknown token is asked to retry (503) until ``replaceTokens(with:readStartedAt:)``.
    func tokensMayBeStale()
    /// Whether the tokens were loaded since they last may have gone stale.
    var tokensLoaded: Bool { get }
}

extension JobHolding {
    public func tokensMayBeStale() {}
    public var tokensLoaded: Bool { true }
}
