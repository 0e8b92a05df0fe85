import Foundation

/// An operator's request about a job (`runway rerun`, `runway cancel`), kept as a row in the
/// store. The controller takes it up in its next pass, records the outcome and never acts on it
/// twice: the same id sent again is the same request.
public struct JobRequest: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Run the job's current generation once more, as a new run.
        case rerun
        /// End the job's open run: its task is stopped, no retry follows, the run ends `cancelled`.
        case cancel
    }

    /// Chosen by the client (the CLI makes a random one); at most 128 characters.
    public var id: String
    public var job: String
    public var kind: Kind
    public var reason: String?
    /// Who asked: the CLI sends `user@host`; the API adds how the caller was authenticated.
    public var requestedBy: String
    public var requestedAt: Date
    /// When a controller took it up; nil while it waits for one.
    public var handledAt: Date?
    /// What came of it ("run 2 queued", "cancelled run 1 (running, attempt 1)").
    public var outcome: String?

    public init(id: String, job: String, kind: Kind, reason: String?, requestedBy: String, requestedAt: Date) {
        self.id = id
        self.job = job
        self.kind = kind
        self.reason = reason
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
    }

    /// `rerun by alice@ci-7: flaky network`.
    public var summary: String {
        "\(kind.rawValue) by \(requestedBy)" + (reason.map { ": \($0)" } ?? "")
    }

    /// Whether `id` is a usable request id: 1-128 printable ASCII characters without spaces.
    public static func isValidID(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
