import Foundation

/// A runner task as a launcher sees it on its platform right now.
public struct ObservedTask: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Created, not yet running (scheduling, pulling an image).
        case pending
        case running
        /// Ended; ``ObservedTask/exitCode`` says how, when the platform knows.
        case exited
    }

    /// The platform's identifier (container id, pod name, ECS task ARN, pid record).
    public var id: String
    /// The deterministic name Runway gave it.
    public var name: String
    /// The launcher plugin that reported it.
    public var plugin: String
    public var labels: [String: String] {
        didSet { owner = TaskOwner(labels: labels) }
    }
    /// The job attempt this task belongs to, from its labels (read once: a pass asks often).
    public private(set) var owner: TaskOwner?
    public var state: State
    public var exitCode: Int32?
    /// A platform reason worth showing (`OOMKilled`, `ImagePullBackOff`), when there is one.
    public var reason: String?
    public var startedAt: Date?

    public init(
        id: String,
        name: String,
        plugin: String,
        labels: [String: String],
        state: State,
        exitCode: Int32? = nil,
        reason: String? = nil,
        startedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.plugin = plugin
        self.labels = labels
        self.owner = TaskOwner(labels: labels)
        self.state = state
        self.exitCode = exitCode
        self.reason = reason
        self.startedAt = startedAt
    }

}
