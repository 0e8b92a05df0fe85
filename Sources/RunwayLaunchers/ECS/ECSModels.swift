import Foundation

// The parts of the ECS API (JSON 1.1) the launcher sends and reads; field names are ECS's own.

struct ECSTag: Codable, Hashable, Sendable {
    var key: String
    var value: String
}

struct ECSKeyValue: Codable, Sendable {
    var name: String
    var value: String
}

struct RunTaskRequest: Encodable {
    struct NetworkConfiguration: Encodable {
        struct AWSVPC: Encodable {
            var subnets: [String]
            var securityGroups: [String]?
            var assignPublicIp: String
        }
        var awsvpcConfiguration: AWSVPC
    }

    struct Overrides: Encodable {
        struct Container: Encodable {
            var name: String
            var command: [String]?
            var environment: [ECSKeyValue]
        }
        var containerOverrides: [Container]
    }

    var cluster: String
    var taskDefinition: String
    var count = 1
    var launchType: String?
    var capacityProviderStrategy: [ECSSettings.CapacityProvider]?
    var platformVersion: String?
    var networkConfiguration: NetworkConfiguration?
    var overrides: Overrides
    var startedBy: String
    var tags: [ECSTag]
    var enableECSManagedTags = true
    var clientToken: String
}

struct ECSTask: Decodable, Sendable {
    struct Container: Decodable, Sendable {
        var name: String?
        var exitCode: Int32?
        var reason: String?
        var lastStatus: String?
    }

    var taskArn: String
    var lastStatus: String?
    var desiredStatus: String?
    var stopCode: String?
    var stoppedReason: String?
    var containers: [Container]?
    var tags: [ECSTag]?
    var createdAt: Double?
}

struct ECSFailure: Decodable, Sendable {
    var arn: String?
    var reason: String?
    var detail: String?
}

struct TasksResponse: Decodable {
    var tasks: [ECSTask]?
    var failures: [ECSFailure]?
}

struct ListTasksRequest: Encodable {
    var cluster: String
    var startedBy: String
    var desiredStatus: String
    var maxResults = 100
    var nextToken: String?
}

struct ListTasksResponse: Decodable {
    var taskArns: [String]
    var nextToken: String?
}

struct DescribeTasksRequest: Encodable {
    var cluster: String
    var tasks: [String]
    var include = ["TAGS"]
}

struct StopTaskRequest: Encodable {
    var cluster: String
    var task: String
    var reason: String
}

struct RegisterTaskDefinitionRequest: Encodable {
    struct Container: Encodable {
        struct Log: Encodable {
            var logDriver = "awslogs"
            var options: [String: String]
        }
        var name = "runner"
        var image: String
        var essential = true
        var entryPoint: [String]?
        var command: [String]?
        var memory: Int?
        var memoryReservation: Int?
        var logConfiguration: Log?
        /// Secrets ECS reads itself (with the execution role) into the environment.
        var secrets: [Secret]?
        var mountPoints: [MountPoint]?
        var dependsOn: [Dependency]?
    }

    struct MountPoint: Encodable {
        var sourceVolume: String
        var containerPath: String
        var readOnly: Bool
    }

    struct Dependency: Encodable {
        var containerName: String
        var condition: String
    }

    struct Volume: Encodable {
        var name: String
    }

    struct Secret: Encodable, Hashable {
        var name: String
        var valueFrom: String
    }

    var family: String
    var containerDefinitions: [Container]
    var volumes: [Volume]?
    var requiresCompatibilities: [String]?
    var networkMode: String?
    var cpu: String
    var memory: String
    var executionRoleArn: String?
    var taskRoleArn: String?
    var tags: [ECSTag]
}

struct TaskDefinitionResponse: Decodable {
    struct Definition: Decodable { var taskDefinitionArn: String }
    var taskDefinition: Definition
    var tags: [ECSTag]?
}
