import Foundation
import RunwayServer
import RunwayTestSupport
import Testing

/// `runway profiles`: each profile at a glance, from the manifests with the state dir, and the
/// same from a controller's API (`GET /v1/profiles`); one profile's settings with its secrets
/// only by reference.
@Suite(.leavesNoProcesses) struct ProfilesTests {
    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    @Test func profilesShowWhatTheyResolveToTheirTasksAndWaitingJobs() async throws {
        let workspace = try Workspace()
        let go = workspace.root + "/go"
        try workspace.write("profiles.yaml", """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: narrow}
            spec:
              plugin: local
              default: true
              maxConcurrent: 1
              environment: {STAGE: ci}
              secretEnvironment:
                TOKEN: {fromEnv: RUNWAY_SECRET_PROFILES}
            ---
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: spare}
            spec: {plugin: local, image: "example/runner:1"}

            """)
        try workspace.write("jobs.yaml", workspace.job("first", "while [ ! -f '\(go)' ]; do sleep 0.2; done")
            + workspace.job("second", "while [ ! -f '\(go)' ]; do sleep 0.2; done"))
        let secret = "s3cr3t-\(UInt32.random(in: 0...UInt32.max))"
        let (controller, port) = try await RunningCommand.serving(directory: workspace.root, environment: ["RUNWAY_SECRET_PROFILES": secret]) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)"]
        }
        defer { kill(controller.pid, SIGKILL) }
        #expect(await RunningCommand.until {
            let records = (try? await workspace.records()) ?? [:]
            return [records["first"]?.state, records["second"]?.state].compactMap { $0 }.contains(.running) && records.count == 2
        }, "\(controller.stderr)")

        let local = try await RunningCommand(["profiles", workspace.manifests, "--state-dir", workspace.state, "-o", "json"], directory: workspace.root).wait()
        #expect(local.status == 0, "\(local.stderr)")
        let profiles = try Self.decode([ProfileDocument].self, local.stdout)
        #expect(profiles.map(\.name) == ["narrow", "spare"])
        let narrow = try #require(profiles.first)
        #expect(narrow.plugin == "local" && narrow.isDefault && narrow.maxConcurrent == 1 && narrow.image == nil)
        #expect(narrow.tasks == ["running": 1], "\(narrow.tasks)")
        #expect(narrow.waiting == 1 && narrow.jobs == ["running": 1, "pending": 1], "\(narrow.jobs)")
        #expect(profiles[1].image == "example/runner:1" && profiles[1].tasks.isEmpty && profiles[1].waiting == 0)
        #expect(narrow.environment == nil, "the list shows no settings")

        // From the controller's API: the same picture.
        let remote = try await RunningCommand(
            ["profiles", "--server", "http://127.0.0.1:\(port)", "--state-dir", workspace.state, "-o", "json"], directory: workspace.root).wait()
        #expect(remote.status == 0, "\(remote.stderr)")
        #expect(try Self.decode([ProfileDocument].self, remote.stdout) == profiles)

        // One profile: its settings, the secret by reference only.
        for source in [[workspace.manifests, "--state-dir", workspace.state], ["--server", "http://127.0.0.1:\(port)", "--state-dir", workspace.state]] {
            let detail = try await RunningCommand(["profiles", "narrow"] + source, directory: workspace.root).wait()
            #expect(detail.status == 0, "\(detail.stderr)")
            #expect(detail.stdout.contains("  environment STAGE=ci\n") && detail.stdout.contains("  secret TOKEN: fromEnv RUNWAY_SECRET_PROFILES\n"), "\(detail.stdout)")
            #expect(!detail.stdout.contains(secret))
            let missing = try await RunningCommand(["profiles", "nope"] + source, directory: workspace.root).wait()
            #expect(missing.status == 1 && missing.stderr.contains("no profile named 'nope'"), "\(missing.stderr)")
        }
        let table = try await RunningCommand(["profiles", workspace.manifests, "--state-dir", workspace.state], directory: workspace.root).wait()
        #expect(table.stdout.hasPrefix("PROFILE  PLUGIN  IMAGE"), "\(table.stdout)")
        #expect(table.stdout.contains("narrow   local   (controller's)    yes      1    running 1  1"), "\(table.stdout)")

        try "go".write(toFile: go, atomically: true, encoding: .utf8)
        #expect(await RunningCommand.until(timeout: .seconds(120)) {
            let records = (try? await workspace.records()) ?? [:]
            return records["first"]?.state == .succeeded && records["second"]?.state == .succeeded
        }, "\(controller.stderr)")
        kill(controller.pid, SIGTERM)
        _ = await controller.wait(timeout: .seconds(60))
    }
}
