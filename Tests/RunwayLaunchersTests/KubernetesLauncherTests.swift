import Foundation
import RunwayHTTP
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

@testable import RunwayLaunchers

/// The kubernetes profile config, kubeconfig reading, and how Jobs and pods map onto task states.
@Suite struct KubernetesLauncherTests {
    func read(_ yaml: String) -> (KubernetesSettings, [String]) {
        var diagnostics: [Diagnostic] = []
        let node = ConfigNode.parseYAML(yaml, path: "p.yaml", diagnostics: &diagnostics)!
        let settings = KubernetesSettings(node, diagnostics: &diagnostics)
        return (settings, diagnostics.map(\.description))
    }

    @Test func objectKeysAreSentWithTheTypesTheAPIExpects() throws {
        let (settings, problems) = read("""
            nodeSelector: {pool: "1000"}
            tolerations: [{key: dedicated, operator: Exists, tolerationSeconds: 30}]
            securityContext: {runAsUser: 1000, runAsNonRoot: false}
            podSecurityContext: {supplementalGroups: [10, 20]}
            """)
        #expect(problems.isEmpty, "\(problems)")
        #expect(settings.nodeSelector == ["pool": "1000"], "a label value stays a string")
        #expect(settings.tolerations == .array([.object(["key": .string("dedicated"), "operator": .string("Exists"), "tolerationSeconds": .integer(30)])]))
        #expect(settings.securityContext == .object(["runAsUser": .integer(1000), "runAsNonRoot": .bool(false), "allowPrivilegeEscalation": .bool(false)]),
            "given keys override the defaults, the others stay")
        #expect(settings.podSecurityContext == .object([
            "runAsNonRoot": .bool(true), "runAsUser": .integer(65532), "runAsGroup": .integer(65532),
            "supplementalGroups": .array([.integer(10), .integer(20)]),
        ]))
        #expect(read("{}").0.automountServiceAccountToken == false && read("{}").0.ttlSecondsAfterFinished == 3600)
        #expect(read("tolerations: [{key: a, efect: NoSchedule}]").1.first?.contains("unknown key 'efect' in 'spec.config.tolerations[0]' (did you mean 'effect'?)") == true)
    }

    /// The default runs as 65532 under runAsNonRoot; naming the user question in the pod's
    /// context leaves the default UID and GID out; root under runAsNonRoot is refused.
    @Test func thePodRunsAsAFixedNonRootUserUnlessTheProfileDecides() throws {
        #expect(read("{}").0.podSecurityContext == .object(["runAsNonRoot": .bool(true), "runAsUser": .integer(65532), "runAsGroup": .integer(65532)]))
        #expect(read("{}").0.securityContext == .object(["allowPrivilegeEscalation": .bool(false)]))
        #expect(read("podSecurityContext: {runAsNonRoot: false}").0.podSecurityContext == .object(["runAsNonRoot": .bool(false)]), "the image's own user")
        #expect(read("podSecurityContext: {runAsNonRoot: true}").0.podSecurityContext == .object(["runAsNonRoot": .bool(true)]))
        #expect(read("podSecurityContext: {runAsUser: 1000}").0.podSecurityContext == .object(["runAsNonRoot": .bool(true), "runAsUser": .integer(1000)]))
        #expect(read("podSecurityContext: {runAsUser: 0, runAsNonRoot: false}").1.isEmpty)
        let refused = read("podSecurityContext: {runAsUser: 0}").1
        #expect(refused.count == 1 && refused.first?.contains("runAsUser 0 under runAsNonRoot: true") == true, "\(refused)")
        #expect(read("securityContext: {runAsUser: 0}").1.first?.contains("runAsUser 0 under runAsNonRoot: true") == true)
    }

    @Test func kubeconfigContextsUsersAndFiles() throws {
        let scratch = TemporaryDirectory()
        let ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        let path = try scratch.write("config", """
            apiVersion: v1
            kind: Config
            current-context: dev
            clusters:
              - name: dev-cluster
                cluster: {server: "https://dev.example:6443/", certificate-authority-data: \(Data(ca.utf8).base64EncodedString())}
              - name: prod-cluster
                cluster: {server: "https://prod.example", certificate-authority: certs/ca.pem, insecure-skip-tls-verify: false}
            users:
              - name: dev-user
                user: {token: abc}
              - name: prod-user
                user: {client-certificate: certs/client.pem, client-key: /abs/key.pem, tokenFile: token}
              - name: plugin-user
                user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./get-token, args: [--cluster, prod], env: [{name: A, value: b}]}}
            contexts:
              - name: dev
                context: {cluster: dev-cluster, user: dev-user, namespace: ci}
              - name: prod
                context: {cluster: prod-cluster, user: prod-user}
              - name: plugin
                context: {cluster: prod-cluster, user: plugin-user}
            """)
        let dev = try KubernetesAccess.fromKubeconfig(path: path, context: nil)
        #expect(dev.server == "https://dev.example:6443" && dev.namespace == "ci" && dev.tls.certificateAuthority == .pem(ca))
        guard case .token("abc") = dev.credential else { Issue.record("\(dev.credential)"); return }
        let prod = try KubernetesAccess.fromKubeconfig(path: path, context: "prod")
        #expect(prod.tls.certificateAuthority == .file(scratch.path + "/certs/ca.pem"), "relative to the kubeconfig's folder")
        #expect(prod.tls.clientCertificate == .file(scratch.path + "/certs/client.pem") && prod.tls.clientKey == .file("/abs/key.pem"))
        guard case .tokenFile(let file) = prod.credential, file == scratch.path + "/token" else { Issue.record("\(prod.credential)"); return }
        let plugin = try KubernetesAccess.fromKubeconfig(path: path, context: "plugin")
        guard case .exec(let command, let arguments, let environment, _) = plugin.credential else { Issue.record("\(plugin.credential)"); return }
        #expect(command == scratch.path + "/./get-token" && arguments == ["--cluster", "prod"] && environment == ["A": "b"])
        #expect(throws: KubernetesAccessError.self) { try KubernetesAccess.fromKubeconfig(path: path, context: "staging") }
        let missing = #expect(throws: KubernetesAccessError.self) { try KubernetesAccess.fromKubeconfig(path: scratch.path + "/none", context: nil) }
        #expect(missing?.description.contains("cannot be read") == true)
    }

    @Test func inClusterReadsTheServiceAccountAndRereadsARotatedToken() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("sa/token", "first\n")
        try scratch.write("sa/namespace", "runway")
        try scratch.write("sa/ca.crt", "pem")
        let access = try KubernetesAccess.inCluster(host: "10.96.0.1", port: "443", directory: scratch.path + "/sa")
        #expect(access.server == "https://10.96.0.1:443" && access.namespace == "runway" && access.tls.certificateAuthority == .file(scratch.path + "/sa/ca.crt"))
        let tokens = KubernetesTokenSource(access.credential)
        #expect(try await tokens.header() == "Bearer first")
        try scratch.write("sa/token", "second\n")
        #expect(try await tokens.header() == "Bearer first", "cached for a minute, as client-go does")
        tokens.invalidate()  // what a 401 does
        #expect(try await tokens.header() == "Bearer second")
        #expect(throws: KubernetesAccessError.self) {
            try KubernetesAccess.resolve(kubeconfig: nil, context: "x", environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1"])
        }
    }

    @Test func anExecPluginsTokenIsUsedUntilItExpires() async throws {
        let scratch = TemporaryDirectory()
        let script = try scratch.write("plugin", """
            #!/bin/sh
            echo run >> "\(scratch.path)/runs"
            [ "$1" = "--fail" ] && { echo "no credentials for you" >&2; exit 2; }
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin-'"$A"'","expirationTimestamp":"2099-01-01T00:00:00Z"}}'
            """)
        chmod(script, 0o755)
        let tokens = KubernetesTokenSource(.exec(command: script, arguments: [], environment: ["A": "x"], apiVersion: "client.authentication.k8s.io/v1"))
        #expect(try await tokens.header() == "Bearer from-plugin-x")
        #expect(try await tokens.header() == "Bearer from-plugin-x")
        #expect(try String(contentsOfFile: scratch.path + "/runs", encoding: .utf8) == "run\n", "run once while its token is valid")
        let failing = KubernetesTokenSource(.exec(command: script, arguments: ["--fail"], environment: [:], apiVersion: "v1"))
        let error = await #expect(throws: KubernetesAccessError.self) { try await failing.header() }
        #expect(error?.description.contains("exited with code 2: no credentials for you") == true, "\(String(describing: error))")
    }

    /// A credential plugin timeout that is not a duration is an error of every kubernetes
    /// profile, named, instead of a silent default.
    @Test func aBadCredentialTimeoutIsAnErrorOfTheProfile() throws {
        var diagnostics: [Diagnostic] = []
        let config = try #require(ConfigNode.parseYAML("namespace: ci", path: "p.yaml", diagnostics: &diagnostics))
        let bad = KubernetesLauncher(environment: ["RUNWAY_KUBE_CREDENTIAL_TIMEOUT": "soon", "KUBECONFIG": "/nonexistent"])
        #expect(bad.validate(config: config).map(\.message) == ["RUNWAY_KUBE_CREDENTIAL_TIMEOUT must be a duration like 30s or 2m, found 'soon'"])
        let good = KubernetesLauncher(environment: ["RUNWAY_KUBE_CREDENTIAL_TIMEOUT": "2m", "KUBECONFIG": "/nonexistent"])
        #expect(good.validate(config: config).isEmpty && good.pluginTimeout == .seconds(120))
    }

    /// A plugin that writes a lot to stderr before its answer is read whole (stdout and stderr
    /// side by side: reading one to its end first would deadlock on the other's full pipe); a
    /// plugin that hangs is killed at its timeout, with that reason, its children too.
    @Test func aChattyPluginWorksAndAHangingOneTimesOut() async throws {
        let scratch = TemporaryDirectory()
        let chatty = try scratch.write("chatty", """
            #!/bin/sh
            head -c 1000000 /dev/zero | tr '\\0' x >&2
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'
            """)
        let hanging = try scratch.write("hanging", "#!/bin/sh\nsleep 300 &\nwait\n")
        chmod(chatty, 0o755)
        chmod(hanging, 0o755)
        let talker = KubernetesTokenSource(.exec(command: chatty, arguments: [], environment: [:], apiVersion: "v1"), pluginTimeout: .seconds(20))
        #expect(try await talker.header() == "Bearer t")
        let stuck = KubernetesTokenSource(.exec(command: hanging, arguments: [], environment: ["RWTAG_PLUGIN": scratch.path], apiVersion: "v1"),
            pluginTimeout: .seconds(1))
        let error = await #expect(throws: KubernetesAccessError.self) { try await stuck.header() }
        #expect(error?.description == "the credential plugin '\(hanging)' did not finish within 1.0 seconds and was killed")
        // SIGKILL is delivered, and the process gone, a moment after the timeout's error.
        #expect(await RunningCommand.until(timeout: .seconds(30)) { processes(withEnvironment: "RWTAG_PLUGIN=\(scratch.path)").isEmpty },
            "the plugin's own child was killed too: \(processes(withEnvironment: "RWTAG_PLUGIN=\(scratch.path)"))")
    }

    // MARK: - States

    func job(_ conditions: [(String, String?)] = [], suspended: Bool = false) -> Kubernetes.Job {
        Kubernetes.Job(
            metadata: .init(name: "j", uid: "u"), spec: .init(suspend: suspended),
            status: .init(conditions: conditions.map { .init(type: $0.0, status: "True", reason: $0.1) }))
    }

    func pod(_ phase: String, waiting: String? = nil, terminated: (Int32, String)? = nil, unschedulableSince: String? = nil) throws -> Kubernetes.Pod {
        var status: [String: Any] = ["phase": phase]
        var state: [String: Any] = [:]
        if let waiting { state["waiting"] = ["reason": waiting, "message": "pull failed for x:1"] }
        if let terminated { state["terminated"] = ["exitCode": terminated.0, "reason": terminated.1] }
        if !state.isEmpty { status["containerStatuses"] = [["name": "runner", "state": state]] }
        if let unschedulableSince {
            status["conditions"] = [["type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes", "lastTransitionTime": unschedulableSince]]
        }
        let json = try JSONSerialization.data(withJSONObject: ["metadata": ["name": "p"], "status": status])
        return try JSONDecoder().decode(Kubernetes.Pod.self, from: json)
    }

    @Test func jobsAndPodsMapOntoTaskStates() throws {
        let now = Date(timeIntervalSince1970: 2_000_000_000)
        func state(_ job: Kubernetes.Job, _ pods: [Kubernetes.Pod]) -> (ObservedTask.State, Int32?, String?) {
            KubernetesLauncher.state(of: job, pods: pods, now: now, unschedulableTimeout: .seconds(60))
        }
        #expect(state(job(), []) == (.pending, nil, nil))
        #expect(state(job(), [try pod("Pending")]) == (.pending, nil, nil))
        #expect(state(job(), [try pod("Running")]) == (.running, nil, nil))
        #expect(state(job([("Complete", nil)]), [try pod("Succeeded", terminated: (0, "Completed"))]) == (.exited, 0, nil))
        #expect(state(job([("Failed", "BackoffLimitExceeded")]), [try pod("Failed", terminated: (3, "Error"))]) == (.exited, 3, nil))
        #expect(state(job([("Failed", "BackoffLimitExceeded")]), [try pod("Failed", terminated: (137, "OOMKilled"))]) == (.exited, 137, "OOMKilled"))
        #expect(state(job([("Failed", "DeadlineExceeded")]), []).2?.contains("activeDeadlineSeconds") == true)
        #expect(state(job(), [try pod("Pending", waiting: "ImagePullBackOff")]) == (.exited, nil, "ImagePullBackOff: pull failed for x:1"))
        #expect(state(job(), [try pod("Pending", waiting: "ContainerCreating")]) == (.pending, nil, nil))
        let recent = Date(timeIntervalSince1970: 2_000_000_000 - 10).ISO8601Format()
        let long = Date(timeIntervalSince1970: 2_000_000_000 - 600).ISO8601Format()
        #expect(state(job(), [try pod("Pending", unschedulableSince: recent)]) == (.pending, nil, nil), "within unschedulableTimeout")
        #expect(state(job(), [try pod("Pending", unschedulableSince: long)]) == (.exited, nil, "Unschedulable: 0/3 nodes"))
    }
}
