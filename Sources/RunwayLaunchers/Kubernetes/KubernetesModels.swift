import Foundation

/// The parts of Kubernetes objects Runway sends and reads (batch/v1 Job, v1 Pod and Secret).
/// Optional fields left nil are not sent.
enum Kubernetes {
    struct ObjectMeta: Codable, Sendable {
        var name: String?
        var namespace: String?
        var uid: String?
        var resourceVersion: String?
        var creationTimestamp: String?
        var deletionTimestamp: String?
        var labels: [String: String]?
        var annotations: [String: String]?
        var ownerReferences: [OwnerReference]?
    }

    struct OwnerReference: Codable, Sendable {
        var apiVersion: String
        var kind: String
        var name: String
        var uid: String
    }

    struct Job: Codable, Sendable {
        var apiVersion = "batch/v1"
        var kind = "Job"
        var metadata: ObjectMeta
        var spec: JobSpec?
        var status: JobStatus?
    }

    struct JobSpec: Codable, Sendable {
        var backoffLimit: Int?
        var activeDeadlineSeconds: Int?
        var ttlSecondsAfterFinished: Int?
        var suspend: Bool?
        var template: PodTemplate?
    }

    struct JobStatus: Codable, Sendable {
        var conditions: [Condition]?
    }

    struct Condition: Codable, Sendable {
        var type: String
        var status: String
        var reason: String?
        var message: String?
        var lastTransitionTime: String?
    }

    struct PodTemplate: Codable, Sendable {
        var metadata: ObjectMeta
        var spec: PodSpec
    }

    struct PodSpec: Codable, Sendable {
        var restartPolicy: String?
        var serviceAccountName: String?
        var automountServiceAccountToken: Bool?
        var imagePullSecrets: [LocalReference]?
        var nodeSelector: [String: String]?
        var tolerations: JSONValue?
        var affinity: JSONValue?
        var priorityClassName: String?
        var securityContext: JSONValue?
        var terminationGracePeriodSeconds: Int?
        var initContainers: [Container]?
        var containers: [Container]
        var volumes: [Volume]?
    }

    /// A pod volume; Runway uses only `emptyDir` (the runner bundle brought into a job's image).
    struct Volume: Codable, Sendable {
        struct EmptyDir: Codable, Sendable {}
        var name: String
        var emptyDir: EmptyDir?
    }

    struct VolumeMount: Codable, Sendable {
        var name: String
        var mountPath: String
        var readOnly: Bool?
    }

    struct LocalReference: Codable, Sendable {
        var name: String
    }

    struct Container: Codable, Sendable {
        var name: String
        var image: String?
        var imagePullPolicy: String?
        var command: [String]?
        var args: [String]?
        var env: [EnvVar]?
        var envFrom: [EnvFromSource]?
        var resources: Resources?
        var securityContext: JSONValue?
        var volumeMounts: [VolumeMount]?
    }

    struct EnvVar: Codable, Sendable {
        var name: String
        var value: String?
        var valueFrom: EnvVarSource?

        init(name: String, value: String) {
            self.name = name
            self.value = value
        }

        init(name: String, secretKeyRef: SecretKeySelector) {
            self.name = name
            self.valueFrom = EnvVarSource(secretKeyRef: secretKeyRef)
        }
    }

    struct EnvVarSource: Codable, Sendable {
        var secretKeyRef: SecretKeySelector
    }

    struct SecretKeySelector: Codable, Sendable {
        var name: String
        var key: String
    }

    struct EnvFromSource: Codable, Sendable {
        var secretRef: LocalReference
    }

    struct Resources: Codable, Sendable {
        var requests: [String: String]?
        var limits: [String: String]?
    }

    struct Secret: Codable, Sendable {
        var apiVersion = "v1"
        var kind = "Secret"
        var metadata: ObjectMeta
        var type: String? = "Opaque"
        /// Values base64-encoded, as the API stores them.
        var data: [String: String]?
    }

    struct Pod: Decodable, Sendable {
        var metadata: ObjectMeta
        var status: PodStatus?
    }

    struct PodStatus: Decodable, Sendable {
        var phase: String?
        var conditions: [Condition]?
        var initContainerStatuses: [ContainerStatus]?
        var containerStatuses: [ContainerStatus]?
    }

    struct ContainerStatus: Decodable, Sendable {
        var name: String
        var state: ContainerState?
    }

    struct ContainerState: Decodable, Sendable {
        struct Waiting: Decodable, Sendable {
            var reason: String?
            var message: String?
        }
        struct Terminated: Decodable, Sendable {
            var exitCode: Int32
            var reason: String?
            var message: String?
        }
        var waiting: Waiting?
        var terminated: Terminated?
    }

    struct List<Item: Decodable & Sendable>: Decodable, Sendable {
        struct Metadata: Decodable, Sendable {
            var `continue`: String?
            var resourceVersion: String?
        }
        var metadata: Metadata?
        var items: [Item]
    }

    static func date(_ text: String?) -> Date? {
        text.flatMap { try? Date($0, strategy: .iso8601) }
    }
}
