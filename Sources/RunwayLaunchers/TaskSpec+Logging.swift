import Logging
import RunwayModel

extension TaskSpec {
    /// What every launcher's log line about this task carries: the job, generation, attempt,
    /// profile and task name (the same keys as the controller's job event lines).
    public var logMetadata: Logger.Metadata {
        [
            "job": "\(owner.job)", "generation": "\(owner.generation.short)", "attempt": "\(owner.attempt)",
            "profile": "\(owner.profile)", "task": "\(name)",
        ]
    }
}
