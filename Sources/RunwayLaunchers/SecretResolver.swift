import Foundation
import RunwayModel

/// Resolves secret references at launch, on the controller's host. Values are never logged or stored.
public enum SecretResolver {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Every secret of a profile's `secretEnvironment` the controller reads, by variable name;
    /// those the platform resolves itself are left to it (``TaskSpec/platformSecrets``).
    public static func resolve(_ secrets: [String: SecretReference], trust: TrustPolicy) throws -> [String: String] {
        var values: [String: String] = [:]
        for (name, reference) in secrets where reference.platform == nil { values[name] = try resolve(reference, name: name, trust: trust) }
        return values
    }

    /// One secret; `name` says which in the error (which never holds a value). A source `trust`
    /// does not allow is refused here too, whatever was validated before.
    public static func resolve(_ reference: SecretReference, name: String, trust: TrustPolicy) throws -> String {
        if let reason = trust.refusal(reference) { throw Failure(description: "secret \(name): \(reason)") }
        switch reference {
        case .fromEnv(let variable):
            guard let value = ProcessInfo.processInfo.environment[variable] else {
                throw Failure(description: "secret \(name): environment variable \(variable) is not set on the controller")
            }
            return value
        case .fromFile(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Failure(description: "secret \(name): cannot read \(path)")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text
        case .kubernetesSecret, .awsSecret, .nomadVariable:
            throw Failure(description: "secret \(name): \(reference.kind) is resolved by \(reference.platform ?? "the platform"), never by the controller")
        }
    }
}
