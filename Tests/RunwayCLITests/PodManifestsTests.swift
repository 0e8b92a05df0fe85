import Foundation
import RunwayTestSupport
import Testing

/// Manifests/ checked against the platforms' official schemas (kubernetes-validate, botocore's
/// ECS model), and the manifest directory its ConfigMap ships checked by `runway validate`.
@Suite(.leavesNoProcesses, .leavesNoProcesses) struct PodManifestsTests {
    @Test func podManifestsMatchThePlatformsSchemas() async throws {
        let result = try await RunningCommand.shell(
            "RUNWAY_BINARY='\(RunwayExecutable.url.path)' python3 scripts/check-pod-manifests.py", directory: Repository.root.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("10 Kubernetes files and 1 ECS task definition checked: ok"))
    }
}
