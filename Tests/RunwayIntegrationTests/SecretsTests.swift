import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

/// A planted secret reaches its job and nothing else: no output, log line, event, record,
/// plan, status, metric or file under the state directory carries it.
@Suite(.leavesNoProcesses, .leavesNoProcesses) struct SecretsTests {
    @Test func aSecretAppearsNowhereButInTheJob() async throws {
        let workspace = try Workspace()
        let secret = "s3cr3t-\(UInt64.random(in: 0...UInt64.max))"
        let secretFile = workspace.root + "/secret-file"
        try (secret + "-file\n").write(toFile: secretFile, atomically: true, encoding: .utf8)
        try workspace.write("a.yaml", """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: local}
            spec:
              plugin: local
              default: true
              secretEnvironment:
                FROM_ENV: {fromEnv: RUNWAY_SECRET_PLANTED}
                FROM_FILE: {fromFile: \(secretFile)}

            """ + workspace.job("uses-secret", #"test "$FROM_ENV" = "$EXPECTED" && test "$FROM_FILE" = "$EXPECTED-file" && echo secrets-received"#))
        // The job compares against EXPECTED (its own environment), so its output never holds the secret.
        var manifest = try String(contentsOfFile: workspace.manifests + "/a.yaml", encoding: .utf8)
        manifest = manifest.replacingOccurrences(of: "environment: {RWTAG: \(workspace.tag)}", with: "environment: {RWTAG: \(workspace.tag), EXPECTED: \(secret)}")
        try manifest.write(toFile: workspace.manifests + "/a.yaml", atomically: true, encoding: .utf8)

        let apply = try RunningCommand(
            ["apply", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:0", "-o", "json", "--secret-dirs", workspace.root],
            directory: workspace.root, environment: ["RUNWAY_SECRET_PLANTED": secret, "RUNWAY_LOG_LEVEL": "debug"])
        let result = await apply.wait()
        #expect(result.status == 0, "\(result.stderr)")
        let logs = try await RunwayExecutable.run(["logs", "uses-secret", "--state-dir", workspace.state])
        #expect(logs.stdout == "secrets-received\n", "the job got both secrets")

        // The manifest itself names EXPECTED, so only places other than it are searched.
        var outputs = [result.stdout, result.stderr]
        for arguments in [["status", "-o", "json"], ["status", "uses-secret"], ["explain", "uses-secret"], ["plan", workspace.manifests, "-o", "json", "--secret-dirs", workspace.root]] {
            let run = try await RunwayExecutable.run(arguments + ["--state-dir", workspace.state], environment: ["RUNWAY_SECRET_PLANTED": secret])
            outputs += [run.stdout, run.stderr]
        }
        for (index, text) in outputs.enumerated() {
            #expect(!text.contains(secret), "output \(index) carries the secret")
        }
        // Every byte under the state directory: the store, its WAL, logs, task records.
        let walker = FileManager.default.enumerator(atPath: workspace.state)!
        var searched = 0
        while let relative = walker.nextObject() as? String {
            guard let data = FileManager.default.contents(atPath: workspace.state + "/" + relative) else { continue }
            searched += 1
            #expect(data.range(of: Data(secret.utf8)) == nil, "\(relative) carries the secret")
        }
        #expect(searched >= 2)
    }

    /// Manifests reach no secret the operator did not allow, and none of the controller's own:
    /// each is refused by file:line:col, with no value in any message, by `validate` and by
    /// `apply` (which knows its state dir and token file), and a symlink from an allowed
    /// directory into the state dir is followed and refused.
    @Test func manifestsReachNoSecretOfTheControllers() async throws {
        let workspace = try Workspace()
        let allowed = workspace.root + "/allowed"
        try FileManager.default.createDirectory(atPath: allowed, withIntermediateDirectories: true)
        let tokenValue = "operator-t0ken-\(UInt32.random(in: 0...UInt32.max))"
        let tokenFile = try workspace.scratch.write("api-token", tokenValue + "\n")
        try FileManager.default.createDirectory(atPath: workspace.state, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: allowed + "/token-link", withDestinationPath: tokenFile)
        try FileManager.default.createSymbolicLink(atPath: allowed + "/state-link", withDestinationPath: workspace.state)
        let nomadToken = "nomad-\(UInt32.random(in: 0...UInt32.max))"
        try workspace.write("greedy.yaml", """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: greedy}
            spec:
              plugin: local
              default: true
              secretEnvironment:
                NOMAD: {fromEnv: NOMAD_TOKEN}
                TOKEN: {fromFile: \(allowed)/token-link}
                STORE: {fromFile: \(allowed)/state-link/runway.sqlite}

            """ + workspace.job("greedy-job", "echo never"))
        let environment = ["NOMAD_TOKEN": nomadToken]
        let flags = ["--secret-dirs", allowed, "--api-token-file", tokenFile]
        let apply = try await RunningCommand(
            ["apply", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:0"] + flags,
            directory: workspace.root, environment: environment
        ).wait()
        #expect(apply.status != 0)
        for line in ["greedy.yaml:8:12: error: secret 'NOMAD'", "greedy.yaml:9:12: error: secret 'TOKEN'", "greedy.yaml:10:12: error: secret 'STORE'"] {
            #expect(apply.stderr.contains(line), "\(line) in \(apply.stderr)")
        }
        #expect(apply.stderr.contains("holds the controller's own credentials"))
        for value in [nomadToken, tokenValue] { #expect(!(apply.stdout + apply.stderr).contains(value), "a value was printed") }
        let started = (try? FileManager.default.contentsOfDirectory(atPath: workspace.state + "/tasks/local")) ?? []
        #expect(started.isEmpty, "nothing started")
    }
}
