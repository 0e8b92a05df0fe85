import Crypto
import Foundation

/// What the operator trusts, in one place: who may call the controller's HTTP API, and where
/// manifests may draw secrets from. The API's one gate and the one secret resolver read it;
/// nothing else decides.
///
/// Whoever can write manifests can run commands on the profiles' platforms, but never gets the
/// controller's own credentials: a `fromEnv` names a variable the operator allowed, a `fromFile`
/// a file in a directory the operator allowed, and neither ever reaches the controller's own
/// platform tokens, service-account token, store password or API token, whatever the lists say.
public struct TrustPolicy: Sendable {
    /// The operator's bearer token: the read API (`/v1/jobs…`) and every path not listed as open
    /// require it. nil only when the operator chose to serve without one
    /// (`--insecure-no-api-token`): then those paths are open to anyone who can connect.
    public var apiToken: String?
    /// Whether `/metrics` requires the operator's token too (default: open, as Prometheus
    /// scrapers expect).
    public var metricsRequireToken: Bool
    /// Variables a manifest's `fromEnv` may name: exact names, or prefixes ending in `*`.
    public var secretVariables: [String]
    /// Directories whose files (at any depth, symlinks resolved) a manifest's `fromFile` may name.
    public var secretDirectories: [String]
    /// The controller's own credentials: variables (names or `PREFIX*`) and files or directories
    /// no manifest may draw from, even when the lists above would allow them.
    public var ownVariables: [String]
    public var ownFiles: [String]
    /// Endpoints (a Nomad `address`, a Docker `host`, an ECS `endpoint`) a manifest may name and
    /// still have the controller's own credentials sent there. A manifest's other endpoints get
    /// only the credentials the manifest names itself. Default: none (the controller's own
    /// configured endpoints, like `NOMAD_ADDR`, are never a new destination).
    public var trustedEndpoints: [String]

    /// Default of ``secretVariables``: variables named `RUNWAY_SECRET_…`.
    public static let defaultSecretVariables = ["RUNWAY_SECRET_*"]
    /// Default of ``secretDirectories``.
    public static let defaultSecretDirectories = ["/etc/runway/secrets"]
    /// What the controller itself authenticates with, on every platform.
    public static let controllerVariables = [
        "RUNWAY_API_TOKEN", "RUNWAY_API_TOKEN_FILE", "RUNWAY_STORE*", "RUNWAY_TLS_*", "RUNWAY_KUBE_*", "NOMAD_*", "AWS_*", "PG*",
        "KUBECONFIG", "KUBERNETES_*", "DOCKER_*",
    ]
    /// Where platforms put the controller's own credentials: service-account tokens (Kubernetes,
    /// EKS), Nomad's and ECS's task secrets, AWS and kubectl files, and the process's own view.
    public static let controllerFiles = [
        "/var/run/secrets/kubernetes.io", "/run/secrets/kubernetes.io", "/var/run/secrets/eks.amazonaws.com",
        "/run/secrets/eks.amazonaws.com", "/secrets", "/proc", "/sys",
    ]

    public init(
        apiToken: String? = nil, metricsRequireToken: Bool = false, secretVariables: [String] = Self.defaultSecretVariables,
        secretDirectories: [String] = Self.defaultSecretDirectories, ownVariables: [String] = Self.controllerVariables,
        ownFiles: [String] = Self.controllerFiles, trustedEndpoints: [String] = []
    ) {
        self.trustedEndpoints = trustedEndpoints
        self.apiToken = apiToken
        self.metricsRequireToken = metricsRequireToken
        self.secretVariables = secretVariables
        self.secretDirectories = secretDirectories
        self.ownVariables = ownVariables
        self.ownFiles = ownFiles
    }

    /// Whether `given` is the operator's token, compared in time independent of where the first
    /// difference is (both sides hashed first, so not even the length leaks). True for anything
    /// when there is no token.
    public func isOperator(_ given: String?) -> Bool {
        guard let apiToken else { return true }
        guard let given else { return false }
        let expected = Array(SHA256.hash(data: Data(apiToken.utf8)))
        let actual = Array(SHA256.hash(data: Data(given.utf8)))
        var difference: UInt8 = 0
        for index in 0..<expected.count { difference |= expected[index] ^ actual[index] }
        return difference == 0
    }

    /// Why a manifest may not draw a secret from `reference`, or nil when it may. The reason
    /// names the variable or the file, never a value.
    public func refusal(_ reference: SecretReference) -> String? {
        switch reference {
        case .kubernetesSecret, .awsSecret, .nomadVariable:
            return nil  // resolved by the platform, with its own access control; never read here
        case .fromEnv(let name):
            if Self.matches(name, ownVariables) {
                return "environment variable \(name) holds the controller's own credentials; manifests may not read it"
            }
            guard Self.matches(name, secretVariables) else {
                return "environment variable \(name) is not one manifests may read (allowed: \(secretVariables.joined(separator: ", ")); see --secret-env)"
            }
            return nil
        case .fromFile(let path):
            guard path.hasPrefix("/") else { return "fromFile must be an absolute path, found '\(path)'" }
            // Both spellings: the path as written, and where its symlinks lead.
            let written = PathNames.normalized(path)
            let real = PathNames.resolved(path)
            let own = ownFiles.map(PathNames.resolved) + ownFiles.map(PathNames.normalized)
            if own.contains(where: { PathNames.isInside(written, $0) || PathNames.isInside(real, $0) }) {
                return "\(path) holds the controller's own credentials; manifests may not read it"
            }
            let allowed = secretDirectories.map(PathNames.resolved)
            guard allowed.contains(where: { PathNames.isInside(real, $0) }) else {
                return "\(path) is outside the directories manifests may read secrets from (\(secretDirectories.joined(separator: ", ")); see --secret-dirs)"
            }
            return nil
        }
    }

    /// Whether the controller's own credentials may go to `endpoint`, which a manifest chose:
    /// only when it is one of ``trustedEndpoints`` or one the controller is configured with
    /// itself (`configured`, from its environment), compared without a trailing slash.
    public func trusts(endpoint: String, configured: [String?]) -> Bool {
        func bare(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
        return (trustedEndpoints + configured.compactMap { $0 }).contains { bare($0) == bare(endpoint) }
    }

    /// Whether `name` is one of `patterns` (exact, or a prefix ending in `*`).
    static func matches(_ name: String, _ patterns: [String]) -> Bool {
        patterns.contains { $0.hasSuffix("*") ? name.hasPrefix($0.dropLast()) : name == $0 }
    }
}
