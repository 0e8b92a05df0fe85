import Foundation
import RunwayModel

/// Builders for planner fixtures: a fixed clock, profiles, jobs, tasks and records.
enum Fixture {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let location = SourceLocation.file("fixture.yaml")

    static func profile(_ name: String, maxConcurrent: Int? = nil, startTimeout: Duration = .seconds(60)) -> RunnerProfile {
        RunnerProfile(
            name: name, plugin: "local", isDefault: name == "default", maxConcurrent: maxConcurrent,
            startTimeout: startTimeout, location: location)
    }

    static func job(_ name: String, profile: String = "default", command: [String] = ["true"], timeout: Duration? = nil, retries: Int = 0)
        -> Job
    {
        Job(spec: JobSpec(name: name, command: command, timeout: timeout, retries: retries, location: location), profile: profile)
    }

    static func desired(_ profiles: [RunnerProfile], _ jobs: [Job]) -> DesiredState {
        DesiredState(
            profiles: Dictionary(uniqueKeysWithValues: profiles.map { ($0.name, $0) }),
            jobs: Dictionary(uniqueKeysWithValues: jobs.map { ($0.name, $0) }))
    }

    static func task(
        _ job: String, generation: Generation, attempt: Int = 1, profile: String = "default",
        state: ObservedTask.State = .running, exitCode: Int32? = nil
    ) -> ObservedTask {
        let owner = TaskOwner(job: job, generation: generation, attempt: attempt, profile: profile)
        return ObservedTask(
            id: "id-\(owner.taskName())", name: owner.taskName(), plugin: "local",
            labels: TaskLabels.labels(controllerID: "runway", owner: owner), state: state, exitCode: exitCode)
    }

    static func task(for job: Job, attempt: Int = 1, state: ObservedTask.State = .running, exitCode: Int32? = nil) -> ObservedTask {
        task(job.name, generation: job.generation, attempt: attempt, profile: job.profile, state: state, exitCode: exitCode)
    }

    static func record(
        for job: Job, _ state: JobRecord.State, attempt: Int = 1, heldSince: Date? = nil, runningSince: Date? = nil,
        nextAttemptAt: Date? = nil, lastHeartbeatAt: Date? = nil, updatedAt: Date = now
    ) -> JobRecord {
        JobRecord(
            job: job.name, generation: job.generation, profile: job.profile, state: state, attempt: attempt,
            createdAt: updatedAt, updatedAt: updatedAt, heldSince: heldSince, runningSince: runningSince,
            nextAttemptAt: nextAttemptAt, lastHeartbeatAt: lastHeartbeatAt ?? runningSince)
    }
}

extension Date {
    static func ago(_ seconds: TimeInterval) -> Date { Fixture.now.addingTimeInterval(-seconds) }
    static func later(_ seconds: TimeInterval) -> Date { Fixture.now.addingTimeInterval(seconds) }
}

/// A compact, comparable description of a plan's actions, for table tests.
func summary(_ plan: Plan) -> [String] {
    plan.actions.map { action in
        switch action {
        case .start(let start): "start \(start.job)\(start.run > 1 ? "/r\(start.run)" : "")#\(start.attempt) on \(start.profile): \(start.reason.code)"
        case .stop(let stop): "stop \(stop.task.owner.map { "\($0.job)#\($0.attempt)" } ?? stop.task.name): \(stop.reason.rawValue)"
        case .wait(let wait):
            switch wait.reason {
            case .maxConcurrent(let live, let limit): "wait \(wait.job): max-concurrent \(live)/\(limit)"
            case .backoff(let until): "wait \(wait.job): backoff \(Int(until.timeIntervalSince(Fixture.now)))s"
            default: "wait \(wait.job): \(wait.reason.detail)"
            }
        }
    }
}
