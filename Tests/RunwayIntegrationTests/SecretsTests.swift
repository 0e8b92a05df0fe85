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
                FROM_ENV: {fromEnv: PLANTED_SECRET}
                FROM_FILE: {fromFile: \(secretFile)}

            """ + workspace.job("uses-secret", #"test "$FROM_ENV" = "$EXPECTED" && test "$FROM_FILE" = "$EXPECTED-file" && echo secrets-received"#))
        // The job compares against EXPECTED (its own environment), so its output never holds the secret.
        var manifest = try String(contentsOfFile: workspace.manifests + "/a.yaml", encoding: .utf8)
        manifest = manifest.replacingOccurrences(of: "environment: {RWTAG: \(workspace.tag)}", with: "environment: {RWTAG: \(workspace.tag), EXPECTED: \(secret)}")
        try manifest.write(toFile: workspace.manifests + "/a.yaml", atomically: true, encoding: .utf8)

        let apply = try RunningCommand(
            ["apply", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:0", "-o", "json"],
            directory: workspace.root, environment: ["PLANTED_SECRET": secret, "RUNWAY_LOG_LEVEL": "debug"])
        let result = await apply.wait()
        #expect(result.status == 0, "\(result.stderr)")
        let logs = try RunwayExecutable.run(["logs", "uses-secret", "--state-dir", workspace.state])
        #expect(logs.stdout == "secrets-received\n", "the job got both secrets")

        // The manifest itself names EXPECTED, so only places other than it are searched.
        var outputs = [result.stdout, result.stderr]
        for arguments in [["status", "-o", "json"], ["status", "uses-secret"], ["explain", "uses-secret"], ["plan", workspace.manifests, "-o", "json"]] {
            let run = try RunwayExecutable.run(arguments + ["--state-dir", workspace.state], environment: ["PLANTED_SECRET": secret])
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
}
