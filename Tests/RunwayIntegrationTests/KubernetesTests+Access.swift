import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// Who may talk to the test API server and what it accepts: real clients against it, invalid
/// objects refused, credentials of every kind, and the Role's verbs.
extension KubernetesTests {
    /// The test server itself, checked with real clients: kubectl and the official Python client
    /// create, list with selectors, page and delete against it without complaint.
    @Test func realClientsWorkAgainstTheTestServer() async throws {
        let cluster = try TestKubernetes.cluster()
        let namespace = "fidelity-\(UInt32.random(in: 0...UInt32.max))"
        let result = try await RunningCommand.shell(
            "KUBECONFIG='\(cluster.kubeconfig)' python3 Tests/Servers/kube_fidelity.py \(namespace)", directory: Repository.root.path)
        #expect(result.status == 0 && result.stdout == "ok\n", "\(result.stdout)\(result.stderr)")
    }

    /// The server refuses what a real one refuses: a value the official schema does not allow is
    /// 422 Invalid with a cause per field; a wrong JSON type, or an unknown field under
    /// fieldValidation=Strict (which Runway sends), fails decoding with 400. Nothing is created.
    @Test func anInvalidObjectIsRejectedWithItsCauses() async throws {
        let cluster = try TestKubernetes.cluster()
        let namespace = try await cluster.namespace("invalid")
        let jobs = "/apis/batch/v1/namespaces/\(namespace)/jobs"
        func job(_ spec: String) -> String {
            #"{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"bad"},"spec":\#(spec)}"#
        }
        let invalid = job(#"{"template":{"spec":{"restartPolicy":"Always","containers":[{"name":"runner","image":"x","imagePullPolicy":"Sometimes"}]}}}"#)
        let text = try await cluster.request("POST", jobs, json: invalid, expect: [422])
        let status = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(status["kind"] as? String == "Status" && status["reason"] as? String == "Invalid" && status["code"] as? Int == 422)
        let causes = ((status["details"] as? [String: Any])?["causes"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        #expect(causes.contains("spec.template.spec.containers[0].imagePullPolicy"), "\(causes)")
        #expect(causes.contains("spec.template.spec.restartPolicy"), "a Job's pods may not restart Always: \(causes)")

        let wrongType = job(#"{"backoffLimit":"none","template":{"spec":{"restartPolicy":"Never","containers":[{"name":"runner","image":"x"}]}}}"#)
        let decoding = try await cluster.request("POST", jobs, json: wrongType, expect: [400])
        #expect(decoding.contains("BadRequest") && decoding.contains("backoffLimit"), "\(decoding)")
        let unknown = job(#"{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"runner","image":"x","bogus":1}]}}}"#)
        let strict = try await cluster.request("POST", jobs + "?fieldValidation=Strict", json: unknown, expect: [400])
        #expect(strict.contains(#"unknown field \"spec.template.spec.containers[0].bogus\""#), "\(strict)")
        #expect(try await cluster.names(jobs).isEmpty)
    }

    /// The ways a kubeconfig proves who the controller is, each through the launcher to the
    /// server: a client certificate, a credential plugin; and a refused credential is named.
    @Test func clientCertificatesAndCredentialPluginsAuthenticate() async throws {
        let cluster = try TestKubernetes.cluster()
        let scratch = TemporaryDirectory()
        let directory = (cluster.kubeconfig as NSString).deletingLastPathComponent
        let name = "runway-cert-\(UInt32.random(in: 0...UInt32.max))"
        let made = try await RunningCommand.shell("""
            openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=\(name) 2>/dev/null &&
            openssl x509 -req -in client.csr -CA '\(directory)/ca.crt' -CAkey '\(directory)/ca.key' -CAcreateserial -out client.crt -days 1 2>/dev/null
            """, directory: scratch.path)
        try #require(made.status == 0, "\(made.stderr)")
        let all = #"[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]"#
        try await cluster.request("POST", "/_test/users", json: #"{"name":"\#(name)","commonName":"\#(name)","rules":\#(all)}"#)
        let namespace = try await cluster.namespace("auth")
        let config = LauncherConformanceTests.config("{namespace: \(namespace)}")
        let ca = try String(contentsOfFile: directory + "/ca.crt", encoding: .utf8)
        func kubeconfig(_ user: String) throws -> String {
            try scratch.write("kubeconfig-\(UInt32.random(in: 0...UInt32.max))", """
                apiVersion: v1
                kind: Config
                current-context: test
                clusters: [{name: test, cluster: {server: "\(cluster.url)", certificate-authority-data: \(Data(ca.utf8).base64EncodedString())}}]
                contexts: [{name: test, context: {cluster: test, user: me}}]
                users: [{name: me, user: \(user)}]
                """)
        }
        let certificate = try kubeconfig("{client-certificate: client.crt, client-key: client.key}")
        let byCertificate = KubernetesLauncher(environment: ["KUBECONFIG": certificate])
        #expect(byCertificate.validate(config: config).isEmpty)
        #expect(try await byCertificate.listTasks(managedBy: "nobody").isEmpty)

        let plugin = try scratch.write("plugin.sh", """
            #!/bin/sh
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"\(cluster.token)"}}'
            """)
        chmod(plugin, 0o755)
        let withPlugin = try kubeconfig("{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh}}")
        let byPlugin = KubernetesLauncher(environment: ["KUBECONFIG": withPlugin])
        _ = byPlugin.validate(config: config)
        #expect(try await byPlugin.listTasks(managedBy: "nobody").isEmpty)

        // The same kubeconfig named by a manifest runs no command on the controller: refused at
        // validate (where the manifest names it), and at start.
        let marker = scratch.path + "/plugin-ran"
        let telltale = try scratch.write("telltale.sh", "#!/bin/sh\ntouch '\(marker)'\n")
        chmod(telltale, 0o755)
        let namedPlugin = try kubeconfig("{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./telltale.sh}}")
        let named = KubernetesLauncher(environment: [:], trust: TrustPolicy(secretDirectories: [scratch.path]))
        let namedConfig = LauncherConformanceTests.config("{kubeconfig: \"\(namedPlugin)\", namespace: \(namespace)}")
        let refusals = named.validate(config: namedConfig)
        #expect(refusals.count == 1 && refusals.first?.code == "exec-not-allowed" && refusals.first?.location.line == 1, "\(refusals)")
        let owner = TaskOwner(job: "named", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "k8s")
        await #expect(throws: LauncherError.self) {
            _ = try await named.startTask(TaskSpec(
                name: owner.taskName(), labels: TaskLabels.labels(controllerID: "nobody", owner: owner), owner: owner,
                image: TestKubernetes.runnerImage, entrypoint: ["/bin/true"], config: namedConfig))
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "the manifest's plugin never ran")

        let refused = KubernetesLauncher(environment: ["KUBECONFIG": try kubeconfig("{token: not-a-token}")])
        _ = refused.validate(config: config)
        let error = await #expect(throws: LauncherError.self) { try await refused.listTasks(managedBy: "nobody") }
        #expect(error?.code == .unauthorized && error?.description.contains("HTTP 401") == true && error?.description.contains("refused the credentials from kubeconfig") == true,
            "\(String(describing: error))")
    }

    /// A kubeconfig whose credential plugin hangs: the plugin is killed at its timeout and the
    /// controller says why, while the jobs of a local profile start, end and time out on time
    /// meanwhile, and the cluster's job waits.
    @Test func aHangingCredentialPluginTimesOutWhileOtherProfilesKeepTheirTimes() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let directory = (setup.cluster.kubeconfig as NSString).deletingLastPathComponent
        let ca = try String(contentsOfFile: directory + "/ca.crt", encoding: .utf8)
        let plugin = try workspace.write("hang.sh", "#!/bin/sh\nexec sleep 300\n")
        chmod(plugin, 0o755)
        let kubeconfig = try workspace.write("kubeconfig", """
            apiVersion: v1
            kind: Config
            current-context: test
            clusters: [{name: test, cluster: {server: "\(setup.cluster.url)", certificate-authority-data: \(Data(ca.utf8).base64EncodedString())}}]
            contexts: [{name: test, context: {cluster: test, user: me}}]
            users: [{name: me, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: "\(plugin)"}}}]
            """)
        try workspace.write("all.yaml", workspace.profile() + """
            ---
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: stuck}
            spec:
              plugin: kubernetes
              image: \(TestKubernetes.runnerImage)
              config: {namespace: \(setup.namespace)}

            """ + workspace.job("remote", "echo never", profile: "stuck")
            + workspace.job("quick", "echo quick") + workspace.job("timed", "sleep 60", timeout: "2s"))
        // The controller's own kubeconfig (a manifest's may not run a plugin at all).
        let (controller, _) = try await setup.controller(environment: ["RUNWAY_KUBE_CREDENTIAL_TIMEOUT": "20s", "KUBECONFIG": kubeconfig])
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            let records = (try? await workspace.records()) ?? [:]
            return records["quick"]?.state == .succeeded && records["timed"]?.state == .failed
        }, "\(controller.stderr)")
        // The local job timed out on time: no pass waited for the plugin.
        let judged = try await workspace.secondsUntilStopped("timed")
        #expect(judged < 8, "timed out after \(judged) s")
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            controller.stderr.contains("the credential plugin '\(plugin)' did not finish within 20.0 seconds and was killed")
        }, "\(controller.stderr)")
        let remote = try await workspace.records()["remote"]
        #expect(remote?.attempt == 0 && remote?.state == .pending, "the cluster's job waits: \(String(describing: remote))")
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }

    /// The Role in Manifests/kubernetes grants what the launcher needs: a run as a user holding
    /// exactly its rules succeeds, and without one verb the error names that verb.
    @Test func theManifestsRoleIsEnoughAndAMissingVerbIsNamed() async throws {
        let rules = try Self.roleRules()
        var setup = try await Setup()
        let token = "role-\(setup.workspace.tag)"
        try await setup.cluster.user(name: "system:serviceaccount:runway:runway", token: token, rules: rules)
        setup.kubeconfig = try setup.cluster.kubeconfig(token: token, in: setup.workspace.root)
        try setup.workspace.write("all.yaml", setup.profile() + setup.workspace.job("allowed", "echo allowed"))
        let allowed = try await setup.apply()
        #expect(allowed.status == 0, "\(allowed.stdout)\n\(allowed.stderr)")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "the Job, its pod and its Secret are gone: \(left)")

        var limited = try await Setup()
        let limitedToken = "limited-\(limited.workspace.tag)"
        let withoutCreate = rules.replacingOccurrences(of: #"["create","get","list","watch","delete"]"#, with: #"["get","list","watch","delete"]"#)
        #expect(withoutCreate != rules, "the premise: the Role lets jobs be created")
        try await limited.cluster.user(name: "system:serviceaccount:runway:runway", token: limitedToken, rules: withoutCreate)
        limited.kubeconfig = try limited.cluster.kubeconfig(token: limitedToken, in: limited.workspace.root)
        try limited.workspace.write("all.yaml", limited.profile() + limited.workspace.job("refused", "echo refused"))
        let refused = try await limited.apply()
        #expect(refused.status == 1)
        let reason = try await limited.workspace.records()["refused"]?.lastReason ?? ""
        #expect(reason.contains("RBAC: the controller may not create jobs.batch") && reason.contains("Manifests/kubernetes/role.yaml"), "\(reason)")
        #expect(reason.contains(#"cannot create resource "jobs" in API group "batch""#), "\(reason)")
    }

    /// The rules of Manifests/kubernetes/role.yaml, as JSON.
    static func roleRules() throws -> String {
        let path = Repository.path("Manifests/kubernetes/role.yaml")
        var diagnostics: [Diagnostic] = []
        let role = try #require(ConfigNode.parseYAML(try String(contentsOfFile: path, encoding: .utf8), path: path, diagnostics: &diagnostics))
        var rules: [String] = []
        for rule in role["rules"]?.items ?? [] {
            var fields: [String] = []
            for key in ["apiGroups", "resources", "verbs"] {
                let values: [String] = (rule[key]?.items ?? []).map { "\"\($0.scalar?.text ?? "")\"" }
                fields.append("\"\(key)\":[" + values.joined(separator: ",") + "]")
            }
            rules.append("{" + fields.joined(separator: ",") + "}")
        }
        return "[" + rules.joined(separator: ",") + "]"
    }
}
