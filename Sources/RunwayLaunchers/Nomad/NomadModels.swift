import Foundation

/// The parts of Nomad's API objects Runway sends and reads (the `api` package's JSON: Job,
/// JobListStub, AllocationListStub, Evaluation). Nil fields are not sent.
enum Nomad {
    struct RegisterRequest: Encodable {
        var Job: Job
        /// With `JobModifyIndex` 0: register only if no job has this ID (a repeated start adopts).
        var EnforceIndex = true
        var JobModifyIndex = 0
    }

    struct Job: Codable, Sendable {
        var ID: String
        var Name: String
        var `Type` = "batch"
        var Region: String?
        var Namespace: String?
        var Datacenters: [String]
        var Priority: Int?
        var Meta: [String: String]?
        var Constraints: [Constraint]?
        var TaskGroups: [TaskGroup]
    }

    struct Constraint: Codable, Sendable {
        var LTarget: String
        var RTarget: String
        var Operand: String
    }

    struct TaskGroup: Codable, Sendable {
        var Name: String
        var Count = 1
        var RestartPolicy: RestartPolicy
        var ReschedulePolicy: ReschedulePolicy
        var Tasks: [Task]
    }

    struct RestartPolicy: Codable, Sendable {
        var Attempts = 0
        var Interval: Int64
        var Delay: Int64
        var Mode = "fail"
    }

    struct ReschedulePolicy: Codable, Sendable {
        var Attempts = 0
        var Unlimited = false
    }

    struct Task: Codable, Sendable {
        var Name: String
        var Driver: String
        var Config: [String: JSONValue]
        var Env: [String: String]?
        var Resources: Resources?
        var KillTimeout: Int64
        var KillSignal = "SIGTERM"
        var Templates: [Template]?
        var Lifecycle: TaskLifecycle?
    }

    /// A task's `lifecycle` block: a `prestart` task runs to completion before the main tasks.
    struct TaskLifecycle: Codable, Sendable {
        var Hook: String
        var Sidecar = false
    }

    /// A `template` block: Nomad renders it in the task's directory before the task starts.
    struct Template: Codable, Sendable, Hashable {
        var EmbeddedTmpl: String
        var DestPath: String
        /// Read the rendered file as `NAME=value` lines into the task's environment.
        var Envvars: Bool
        var ChangeMode: String
    }

    struct Resources: Codable, Sendable {
        var CPU: Int?
        var MemoryMB: Int?
    }

    struct JobStub: Decodable, Sendable {
        var ID: String
        var Namespace: String?
        var Status: String?
        var Stop: Bool?
        var Meta: [String: String]?
        var JobSummary: Summary?
        var SubmitTime: Int64?
    }

    struct Summary: Decodable, Sendable {
        var Summary: [String: Counts]?
    }

    struct Counts: Decodable, Sendable {
        var Queued: Int?
        var Complete: Int?
        var Failed: Int?
        var Running: Int?
        var Starting: Int?
        var Lost: Int?
    }

    struct JobRead: Decodable, Sendable {
        var ID: String
        var Meta: [String: String]?
    }

    struct Allocation: Decodable, Sendable {
        var ID: String
        var ClientStatus: String
        var ClientDescription: String?
        var CreateTime: Int64?
        var TaskStates: [String: TaskState]?
    }

    struct TaskState: Decodable, Sendable {
        var State: String?
        var Failed: Bool?
        var Events: [TaskEvent]?
    }

    struct TaskEvent: Decodable, Sendable {
        var `Type`: String
        var ExitCode: Int32?
        var Signal: Int32?
        var DriverError: String?
        var DisplayMessage: String?
    }

    struct Evaluation: Decodable, Sendable {
        var Status: String
        var CreateTime: Int64?
        var FailedTGAllocs: [String: AllocationMetric]?
    }

    struct AllocationMetric: Decodable, Sendable {
        var NodesEvaluated: Int?
        var NodesFiltered: Int?
        var NodesExhausted: Int?
        var ConstraintFiltered: [String: Int]?
        var DimensionExhausted: [String: Int]?
    }
}
