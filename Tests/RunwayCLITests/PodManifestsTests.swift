import Foundation
import RunwayTestSupport
import Testing

/// Manifests/ checked against the platforms' official schemas (kubernetes-validate, botocore's
/// ECS model, an HCL parser for Nomad), the manifest directory its ConfigMap ships checked by
/// `runway validate`, and every shipped workload keeping its state durably and taking its API
/// token from its platform's secret store.
@Suite(.leavesNoProcesses) struct PodManifestsTests {
    func check(_ root: String? = nil) async throws -> CommandResult {
        let override = root.map { "RUNWAY_MANIFESTS_ROOT='\($0)' " } ?? ""
        return try await RunningCommand.shell(
            "\(override)RUNWAY_BINARY='\(RunwayExecutable.url.path)' python3 scripts/check-pod-manifests.py", directory: Repository.root.path)
    }

    @Test func podManifestsMatchThePlatformsSchemasAndKeepTheirState() async throws {
        let result = try await check()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("12 Kubernetes files, 1 ECS task definition and 1 Nomad job checked: ok"), "\(result.stdout)")
    }

    /// The check fails on a copy of the manifests broken the ways that lose state or leave the
    /// API open: each break is named with its file.
    @Test(arguments: [
        ("kubernetes/deployment.yaml", "persistentVolumeClaim:\n            claimName: runway-state", "emptyDir: {}", "which a restart loses"),
        ("kubernetes/deployment.yaml", "  type: Recreate", "  type: RollingUpdate", "Recreate strategy"),
        ("kubernetes/deployment.yaml", "value: /var/run/secrets/runway/token", "value: /tmp/token", "takes no API token"),
        ("kubernetes/configmap.yaml", "plugin: kubernetes", "plugin: local", "not kubernetes"),
        ("nomad/runway.nomad.hcl", "destination = \"/state\"", "destination = \"/elsewhere\"", "which a reschedule loses"),
        ("nomad/runway.nomad.hcl", "nomadVar", "env", "no API token"),
        ("ecs/task-definition.json", "\"containerPath\": \"/state\"", "\"containerPath\": \"/scratch\"", "which a new task loses"),
        ("ecs/task-definition.json", "\"name\": \"RUNWAY_API_TOKEN\"", "\"name\": \"OTHER_TOKEN\"", "no API token"),
    ])
    func aWorkloadThatLosesItsStateOrTokenFailsTheCheck(file: String, find: String, replace: String, complaint: String) async throws {
        let scratch = TemporaryDirectory()
        let copy = scratch.path + "/Manifests"
        try FileManager.default.copyItem(atPath: Repository.root.path + "/Manifests", toPath: copy)
        let path = copy + "/" + file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(find), "the shipped \(file) changed: update this test")
        try text.replacingOccurrences(of: find, with: replace).write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await check(copy)
        #expect(result.status != 0)
        #expect(result.stdout.contains(file) && result.stdout.contains(complaint), "\(result.stdout)\(result.stderr)")
    }
}
