import Foundation
import RunwayProcess
import RunwayHTTP
import RunwayManifests
import RunwayModel
import Synchronization

/// How to reach one cluster and prove who we are: from a kubeconfig (a context's cluster and
/// user) or from inside a pod (the service account's token, CA and namespace).
struct KubernetesAccess: Sendable {
    /// `https://host:port`, without a trailing slash.
    var server: String
    var tls: TLSOptions
    /// The context's namespace, or the pod's own; nil when neither says.
    var namespace: String?
    var credential: Credential
    /// Where this came from, for messages: `kubeconfig /root/.kube/config (context kind)`, `in-cluster`.
    var source: String

    enum Credential: Sendable {
        case none
        case token(String)
        /// Re-read when it may have been rotated (service account tokens are, hourly).
        case tokenFile(String)
        /// A credential plugin: run it, read the ExecCredential it prints.
        case exec(command: String, arguments: [String], environment: [String: String], apiVersion: String)
    }

    static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The profile's choice: its `kubeconfig`, else `KUBECONFIG`, else in-cluster when in a pod
    /// (`KUBERNETES_SERVICE_HOST`), else `~/.kube/config`.
    /// A kubeconfig a manifest names is a credential file like a `fromFile` secret (only where
    /// `trust` lets manifests read, never one of the controller's own), and never runs a
    /// credential plugin (`exec`): that would run a command of the manifest author's choosing on
    /// the controller.
    static func resolve(
        kubeconfig: String?, context: String?, environment: [String: String], trust: TrustPolicy = TrustPolicy()
    ) throws(KubernetesAccessError) -> KubernetesAccess {
        if let refusal = manifestRefusal(kubeconfig: kubeconfig, context: context, environment: environment, trust: trust) { throw refusal }
        if let path = kubeconfig ?? environment["KUBECONFIG"].flatMap({ $0.isEmpty ? nil : String($0.split(separator: ":").first ?? "") }) {
            return try fromKubeconfig(path: path, context: context)
        }
        if let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty {
            guard context == nil else {
                throw KubernetesAccessError("'context' needs a kubeconfig: set spec.config.kubeconfig or KUBECONFIG (in a pod Runway uses its service account)")
            }
            return try inCluster(host: host, port: environment["KUBERNETES_SERVICE_PORT"] ?? "443", directory: serviceAccountDirectory)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return try fromKubeconfig(path: home + "/.kube/config", context: context)
    }

    /// The refusal of a manifest's kubeconfig that `trust` does not let manifests read, or whose
    /// user runs a credential plugin; nil when the kubeconfig is the controller's own
    /// (`KUBECONFIG`), or an allowed one that runs none or cannot be read (which fails later
    /// with its own words).
    static func manifestRefusal(
        kubeconfig: String?, context: String?, environment: [String: String], trust: TrustPolicy
    ) -> KubernetesAccessError? {
        guard let kubeconfig, kubeconfig != environment["KUBECONFIG"] else { return nil }
        if let reason = trust.refusal(.fromFile(kubeconfig)) { return KubernetesAccessError("kubeconfig: \(reason)") }
        guard let access = try? fromKubeconfig(path: kubeconfig, context: context),
            case .exec(let command, _, _, _) = access.credential
        else { return nil }
        return KubernetesAccessError(
            "kubeconfig \(kubeconfig), named in a manifest, runs the credential plugin \(command); a manifest's kubeconfig never runs commands on the controller: use a token or client certificate in it, or give the controller its own kubeconfig (KUBECONFIG)")
    }

    static func inCluster(host: String, port: String, directory: String) throws(KubernetesAccessError) -> KubernetesAccess {
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubernetesAccessError("in-cluster: no service account token at \(tokenPath) (is automountServiceAccountToken off for the controller's pod?)")
        }
        let namespace = (try? String(contentsOfFile: directory + "/namespace", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") ? "[\(host)]" : host  // IPv6
        return KubernetesAccess(
            server: "https://\(hostPart):\(port)", tls: TLSOptions(certificateAuthority: .file(directory + "/ca.crt")),
            namespace: namespace, credential: .tokenFile(tokenPath), source: "in-cluster")
    }

    static func fromKubeconfig(path: String, context wanted: String?) throws(KubernetesAccessError) -> KubernetesAccess {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubernetesAccessError("kubeconfig \(path) cannot be read (set spec.config.kubeconfig or KUBECONFIG, or run in a pod)")
        }
        var diagnostics: [Diagnostic] = []
        guard let root = ConfigNode.parseYAML(String(decoding: data, as: UTF8.self), path: path, diagnostics: &diagnostics), diagnostics.isEmpty else {
            throw KubernetesAccessError("kubeconfig \(path) is not valid YAML: \(diagnostics.map(\.description).joined(separator: "; "))")
        }
        let directory = (path as NSString).deletingLastPathComponent
        func resolved(_ file: String) -> String { file.hasPrefix("/") ? file : directory + "/" + file }
        func named(_ list: String, _ name: String) throws(KubernetesAccessError) -> ConfigNode {
            guard let entry = root[list]?.items?.first(where: { $0["name"]?.scalar?.text == name }),
                let body = entry[String(list.dropLast())]
            else { throw KubernetesAccessError("kubeconfig \(path) has no \(list.dropLast()) named '\(name)'") }
            return body
        }
        guard let contextName = wanted ?? root["current-context"]?.scalar?.text, !contextName.isEmpty else {
            throw KubernetesAccessError("kubeconfig \(path) has no current-context; set spec.config.context")
        }
        let context = try named("contexts", contextName)
        guard let clusterName = context["cluster"]?.scalar?.text else {
            throw KubernetesAccessError("kubeconfig \(path): context '\(contextName)' names no cluster")
        }
        let cluster = try named("clusters", clusterName)
        guard var server = cluster["server"]?.scalar?.text, !server.isEmpty else {
            throw KubernetesAccessError("kubeconfig \(path): cluster '\(clusterName)' has no server")
        }
        while server.hasSuffix("/") { server.removeLast() }
        var tls = TLSOptions()
        if let pem = cluster["certificate-authority-data"]?.scalar?.text {
            tls.certificateAuthority = .pem(try decoded(pem, "certificate-authority-data of cluster '\(clusterName)'", path))
        } else if let file = cluster["certificate-authority"]?.scalar?.text {
            tls.certificateAuthority = .file(resolved(file))
        }
        tls.insecure = cluster["insecure-skip-tls-verify"]?.scalar?.text == "true"
        var credential = Credential.none
        if let userName = context["user"]?.scalar?.text, !userName.isEmpty {
            let user = try named("users", userName)
            if let pem = user["client-certificate-data"]?.scalar?.text {
                tls.clientCertificate = .pem(try decoded(pem, "client-certificate-data of user '\(userName)'", path))
            } else if let file = user["client-certificate"]?.scalar?.text {
                tls.clientCertificate = .file(resolved(file))
            }
            if let pem = user["client-key-data"]?.scalar?.text {
                tls.clientKey = .pem(try decoded(pem, "client-key-data of user '\(userName)'", path))
            } else if let file = user["client-key"]?.scalar?.text {
                tls.clientKey = .file(resolved(file))
            }
            if let token = user["token"]?.scalar?.text, !token.isEmpty {
                credential = .token(token)
            } else if let file = user["tokenFile"]?.scalar?.text {
                credential = .tokenFile(resolved(file))
            } else if let exec = user["exec"] {
                guard let command = exec["command"]?.scalar?.text else {
                    throw KubernetesAccessError("kubeconfig \(path): user '\(userName)' has an exec plugin without a command")
                }
                var environment: [String: String] = [:]
                for item in exec["env"]?.items ?? [] {
                    if let name = item["name"]?.scalar?.text { environment[name] = item["value"]?.scalar?.text ?? "" }
                }
                credential = .exec(
                    command: command.contains("/") ? resolved(command) : command,
                    arguments: exec["args"]?.items?.compactMap { $0.scalar?.text } ?? [], environment: environment,
                    apiVersion: exec["apiVersion"]?.scalar?.text ?? "client.authentication.k8s.io/v1")
            } else if user["username"] != nil || user["auth-provider"] != nil {
                throw KubernetesAccessError("kubeconfig \(path): user '\(userName)' uses basic auth or an auth-provider, which Runway does not support; use a token, a client certificate or an exec plugin")
            }
        }
        return KubernetesAccess(
            server: server, tls: tls, namespace: context["namespace"]?.scalar?.text, credential: credential,
            source: "kubeconfig \(path) (context \(contextName))")
    }

    private static func decoded(_ base64: String, _ what: String, _ path: String) throws(KubernetesAccessError) -> String {
        guard let data = Data(base64Encoded: base64.filter { !$0.isWhitespace }) else {
            throw KubernetesAccessError("kubeconfig \(path): \(what) is not base64")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

struct KubernetesAccessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The bearer token for requests: fixed, read from a file (again after a minute, as client-go
/// does, so a rotated service account token is picked up), or from an exec plugin (again when it
/// expires, or after the server refused it).
final class KubernetesTokenSource: Sendable {
    private let credential: KubernetesAccess.Credential
    private let cached = Mutex<(token: String, until: Date)?>(nil)
    private let pluginTimeout: Duration

    init(_ credential: KubernetesAccess.Credential, pluginTimeout: Duration = KubernetesTokenSource.pluginTimeout) {
        self.credential = credential
        self.pluginTimeout = pluginTimeout
    }

    /// The `Authorization` header value, or nil when this user has no token (client certificates).
    func header() async throws(KubernetesAccessError) -> String? {
        switch credential {
        case .none: return nil
        case .token(let token): return "Bearer " + token
        case .tokenFile, .exec:
            if let current = cached.withLock({ $0 }), current.until > Date() { return "Bearer " + current.token }
            let fresh = try await fetch()
            cached.withLock { $0 = fresh }
            return "Bearer " + fresh.token
        }
    }

    /// Forget the token (the server said 401): the next request reads or runs again.
    func invalidate() {
        cached.withLock { $0 = nil }
    }

    private func fetch() async throws(KubernetesAccessError) -> (token: String, until: Date) {
        switch credential {
        case .tokenFile(let path):
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw KubernetesAccessError("the token file \(path) cannot be read")
            }
            return (text.trimmingCharacters(in: .whitespacesAndNewlines), Date().addingTimeInterval(60))
        case .exec(let command, let arguments, let environment, let apiVersion):
            return try await Self.run(
                command: command, arguments: arguments, environment: environment, apiVersion: apiVersion, timeout: pluginTimeout)
        case .none, .token:
            return ("", .distantFuture)
        }
    }

    /// How long a credential plugin may run before it is killed. 30 seconds.
    static let pluginTimeout = Duration.seconds(30)

    /// Runs a client-go credential plugin and reads its ExecCredential's token and expiry. Its
    /// stdout and stderr are read side by side; past `timeout` it is killed and the request fails
    /// with that reason.
    static func run(
        command: String, arguments: [String], environment: [String: String], apiVersion: String, timeout: Duration = pluginTimeout
    ) async throws(KubernetesAccessError) -> (token: String, until: Date) {
        var variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        variables["KUBERNETES_EXEC_INFO"] = #"{"apiVersion":"\#(apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}"#
        let result: ProcessSpawner.Collected
        do {
            result = try await ProcessSpawner.collect(.init(argv: [command] + arguments, environment: variables), timeout: timeout)
        } catch {
            throw KubernetesAccessError("the credential plugin '\(command)' cannot be run: \(error)")
        }
        guard let exit = result.exit else {
            throw KubernetesAccessError("the credential plugin '\(command)' did not finish within \(timeout) and was killed")
        }
        guard exit == .exited(0) else {
            let detail = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw KubernetesAccessError("the credential plugin '\(command)' exited with code \(exit.code)\(detail.isEmpty ? "" : ": \(detail.prefix(300))")")
        }
        let data = Data(result.stdout)
        struct ExecCredential: Decodable {
            struct Status: Decodable {
                var token: String?
                var expirationTimestamp: String?
                var clientCertificateData: String?
            }
            var status: Status?
        }
        guard let credential = try? JSONDecoder().decode(ExecCredential.self, from: data), let status = credential.status else {
            throw KubernetesAccessError("the credential plugin '\(command)' did not print an ExecCredential with a status")
        }
        guard let token = status.token, !token.isEmpty else {
            throw KubernetesAccessError(
                status.clientCertificateData != nil
                    ? "the credential plugin '\(command)' returned a client certificate; Runway takes tokens from plugins (put the certificate in the kubeconfig instead)"
                    : "the credential plugin '\(command)' returned no token")
        }
        let expiry = status.expirationTimestamp.flatMap { try? Date($0, strategy: .iso8601) } ?? .distantFuture
        return (token, expiry.addingTimeInterval(-10))
    }
}
