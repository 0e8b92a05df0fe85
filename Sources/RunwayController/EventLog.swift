import Logging
import RunwayModel
import RunwayStore
import Synchronization

/// Writes every job event the store commits as a log line carrying the job, its generation,
/// the attempt and the profile, so a log search by job shows its whole life.
public enum EventLog {
    public static func observer(_ logger: Logger) -> CommitObserver {
        // The profile of each job seen so far, for events written without their record (waits).
        let profiles = Mutex<[String: String]>([:])
        return { change, decidedOn in
            let eventProfiles = profiles.withLock { profiles in
                for record in change.records + (decidedOn.map { [$0] } ?? []) { profiles[record.job] = record.profile }
                return change.events.map { profiles[$0.job] }
            }
            for (event, profile) in zip(change.events, eventProfiles) {
                var metadata: Logger.Metadata = [
                    "event": "\(event.kind)", "job": "\(event.job)", "generation": "\(event.generation.short)",
                ]
                if let attempt = event.attempt { metadata["attempt"] = "\(attempt)" }
                if let profile { metadata["profile"] = "\(profile)" }
                logger.log(level: level(event.kind), "\(event.message)", metadata: metadata)
            }
        }
    }

    /// Failures stand out; the rest is the normal course of a job.
    static func level(_ kind: String) -> Logger.Level {
        switch kind {
        case "failed", "attempt-failed": .warning
        default: .info
        }
    }
}
