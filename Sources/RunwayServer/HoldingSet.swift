import RunwayModel

/// Jobs waiting for their runner, by the SHA-256 of their attempt's one-time token: the payload
/// the runner receives when it claims. The controller puts a job here before starting its task;
/// a claim takes it out at once.
public actor HoldingSet {
    private var held: [String: ClaimedJob] = [:]

    public init() {}

    public func hold(_ job: ClaimedJob, tokenHash: String) { held[tokenHash] = job }

    public func peek(_ tokenHash: String) -> ClaimedJob? { held[tokenHash] }

    public func release(_ tokenHash: String) { held[tokenHash] = nil }

    /// Drops every held job of `attemptIDs` (attempts that ended without a claim).
    public func release(attempts attemptIDs: Set<String>) {
        held = held.filter { !attemptIDs.contains($0.value.attemptID) }
    }

    public var count: Int { held.count }
}
