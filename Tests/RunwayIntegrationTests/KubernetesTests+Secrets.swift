import Foundation
import RunwayTestSupport
import Testing

extension KubernetesTests {
    /// A `fromKubernetesSecret` entry is rendered as `valueFrom.secretKeyRef` and Kubernetes reads
    /// the Secret into the container itself: the job sees the value, which appears nowhere in
    /// Runway (not in the Job, not in the attempt's own Secret, not in its output or state).
    @Test func aKubernetesSecretReachesTheJobThroughTheCluster() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let value = "pl4tform-\(UInt32.random(in: 0...UInt32.max))"
        let secret = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"data":{"password":"\#(Data(value.utf8).base64EncodedString())"}}"#
        _ = try await setup.cluster.request("POST", "/api/v1/namespaces/\(setup.namespace)/secrets", json: secret)
        try workspace.write("all.yaml", setup.profile(secrets: "DB: {fromKubernetesSecret: {name: db, key: password}}")
            + workspace.job("reads-db", #"test "$DB" = "$EXPECTED" && echo "db has ${#DB} characters"; while [ ! -f "$GO" ]; do sleep 0.2; done"#))
        var manifest = try String(contentsOfFile: workspace.manifests + "/all.yaml", encoding: .utf8)
        manifest = manifest.replacingOccurrences(
            of: "environment: {RWTAG: \(workspace.tag)}", with: "environment: {RWTAG: \(workspace.tag), EXPECTED: \(value), GO: \(workspace.root)/go}")
        try manifest.write(toFile: workspace.manifests + "/all.yaml", atomically: true, encoding: .utf8)
        let (controller, _) = try await setup.controller()
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until(timeout: .seconds(120)) { (try? await workspace.records())?["reads-db"]?.state == .running },
            "\(controller.stderr)")
        let attempt = try #require(try await workspace.attempts("reads-db").first)
        let job = try await setup.cluster.object("/apis/batch/v1/namespaces/\(setup.namespace)/jobs/\(attempt.taskName)")
        let pod = ((job["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
        let env = ((pod?["containers"] as? [[String: Any]])?.first?["env"] as? [[String: Any]]) ?? []
        let db = env.first { $0["name"] as? String == "DB" }
        #expect(((db?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: String]) == ["name": "db", "key": "password"], "\(env)")
        #expect(db?["value"] == nil)
        let own = try await setup.cluster.object("/api/v1/namespaces/\(setup.namespace)/secrets/\(attempt.taskName)-env")
        #expect((own["data"] as? [String: String])?["DB"] == nil, "the attempt's own Secret does not carry it")
        try "go".write(toFile: workspace.root + "/go", atomically: true, encoding: .utf8)
        #expect(await RunningCommand.until(timeout: .seconds(120)) { (try? await workspace.records())?["reads-db"]?.state == .succeeded },
            "\(controller.stderr)")
        let logs = try await RunwayExecutable.run(["logs", "reads-db", "--state-dir", workspace.state])
        #expect(logs.stdout == "db has \(value.count) characters\n", "\(logs.stdout)\(logs.stderr)")
        #expect(!controller.stderr.contains(value))
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }
}
