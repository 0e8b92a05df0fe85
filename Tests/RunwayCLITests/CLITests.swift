import Foundation
import RunwayTestSupport
import Testing

@Suite(.leavesNoProcesses, .leavesNoProcesses) struct CLITests {
    @Test func validateAcceptsTheQuickStart() async throws {
        let result = try await RunwayExecutable.run(["validate", "Samples/local"])
        #expect(result.status == 0)
        #expect(result.stdout == "Samples/local: 2 profiles, 7 jobs in 3 files: valid\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func validateRejectsTheInvalidSamplesOneLinePerProblem() async throws {
        let result = try await RunwayExecutable.run(["validate", "Samples/invalid"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        let errors = lines.filter { $0.firstMatch(of: #/^Samples/invalid/\S+:\d+:\d+: error: /#) != nil }
        let warnings = lines.filter { $0.firstMatch(of: #/^Samples/invalid/\S+:\d+:\d+: warning: /#) != nil }
        #expect(errors.count + warnings.count == lines.count, "every line is path:line:column: severity:")
        #expect(result.stdout.hasPrefix("Samples/invalid: "))
        #expect(result.stdout.hasSuffix(": invalid, \(errors.count) errors, \(warnings.count) warning\n"))
        #expect(errors.count >= 40)
    }

    @Test func validateJSONCarriesEveryDiagnostic() async throws {
        let result = try await RunwayExecutable.run(["validate", "Samples/invalid/unknown-keys.yaml", "-o", "json"])
        #expect(result.status == 1)
        let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let diagnostics = document?["diagnostics"] as? [[String: Any]]
        #expect(document?["valid"] as? Bool == false)
        // Four misspelled keys, each reported on its own.
        #expect(diagnostics?.compactMap { $0["code"] as? String } == ["unknown-key", "unknown-key", "unknown-key", "unknown-key"])
        #expect(diagnostics?.first?["hint"] as? String == "did you mean 'labels'?")
        #expect(diagnostics?.first?["line"] as? Int == 6)
    }

    @Test func planOfTheQuickStart() async throws {
        let text = try await RunwayExecutable.run(["plan", "Samples/local", "--state-dir", "/nonexistent-state"])
        #expect(text.status == 0)
        if let failure = Golden.check(text.stdout, against: "plan/local.txt") { Issue.record(Comment(rawValue: failure)) }
        let json = try await RunwayExecutable.run(["plan", "Samples/local", "-o", "json", "--state-dir", "/nonexistent-state"])
        #expect(json.status == 0)
        if let failure = Golden.check(json.stdout, against: "plan/local.json") { Issue.record(Comment(rawValue: failure)) }
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let actions = document?["actions"] as? [[String: Any]] ?? []
        #expect(actions.filter { $0["action"] as? String == "start" }.count == 5)
        #expect(actions.filter { $0["action"] as? String == "wait" }.count == 2)
    }

    /// Schedules and dependencies in `plan` (as of a fixed time) and `explain` (after an apply;
    /// times masked), against goldens.
    @Test func planAndExplainOfSchedulesAndDependencies() async throws {
        for format in ["txt", "json"] {
            let plan = try await RunwayExecutable.run(
                ["plan", "Samples/operate", "--state-dir", "/nonexistent-state", "--at", "2026-12-01T00:30:00Z"] + (format == "json" ? ["-o", "json"] : []))
            #expect(plan.status == 0, "\(plan.stderr)")
            if let failure = Golden.check(plan.stdout, against: "plan/operate.\(format)") { Issue.record(Comment(rawValue: failure)) }
        }
        let scratch = TemporaryDirectory()
        let apply = try await RunwayExecutable.run(["apply", "Samples/operate", "--state-dir", scratch.path, "--listen", "127.0.0.1:0"])
        #expect(apply.status == 1, "migrate fails: \(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("Scheduled (apply starts none; a controller runs them):\n  nightly  next run at "), "\(apply.stdout)")
        for job in ["backfill", "nightly", "report"] {
            let explain = try await RunwayExecutable.run(["explain", job, "--state-dir", scratch.path])
            #expect(explain.status == 0, "\(explain.stderr)")
            // Times masked; of the waits (one per change a pass happened to see) the last.
            var lines = explain.stdout.replacing(#/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/#, with: "<time>").split(separator: "\n", omittingEmptySubsequences: false)
            let waits = lines.indices.filter { lines[$0].contains("  waiting  ") }
            for index in waits.dropLast().reversed() { lines.remove(at: index) }
            if let failure = Golden.check(lines.joined(separator: "\n"), against: "explain/\(job).txt") { Issue.record(Comment(rawValue: failure)) }
        }
    }

    @Test func planRefusesInvalidManifests() async throws {
        let result = try await RunwayExecutable.run(["plan", "Samples/invalid/bad-references.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad-references.yaml:14:12: error: job 'build-web' names profile 'k8s-smal'"))
    }

    @Test(arguments: [
        ["--help"], ["validate", "--help"], ["plan", "--help"], ["apply", "--help"], ["controller", "--help"], ["status", "--help"],
        ["logs", "--help"], ["explain", "--help"], ["rerun", "--help"], ["cancel", "--help"], ["profiles", "--help"], ["runner", "--help"], ["convert", "--help"], ["fmt", "--help"],
    ])
    func helpExplainsEveryOption(arguments: [String]) async throws {
        let result = try await RunwayExecutable.run(arguments)
        #expect(result.status == 0)
        let name = (["runway"] + arguments.dropLast()).joined(separator: "-")
        if let failure = Golden.check(result.stdout, against: "help/\(name).txt") { Issue.record(Comment(rawValue: failure)) }
    }

    @Test func settingsComeFromTheEnvironmentWhenNoFlagIsGiven() async throws {
        let fromEnvironment = try await RunwayExecutable.run(["status"], environment: ["RUNWAY_STATE_DIR": "/nonexistent-from-env"])
        #expect(fromEnvironment.status == 1)
        #expect(fromEnvironment.stderr == "error: no state in /nonexistent-from-env: nothing has run there yet (see `runway apply`)\n")
        let flagWins = try await RunwayExecutable.run(
            ["status", "--state-dir", "/nonexistent-flag"], environment: ["RUNWAY_STATE_DIR": "/nonexistent-from-env"])
        #expect(flagWins.stderr.contains("/nonexistent-flag"))
    }

    /// A password inside the --store URL is refused, naming the option to use instead, and is
    /// never echoed.
    @Test(arguments: ["status", "apply"]) func aPasswordInTheStoreURLIsRefused(command: String) async throws {
        let scratch = TemporaryDirectory()
        let arguments = command == "apply" ? ["apply", Repository.path("Samples/local"), "--state-dir", scratch.path] : ["status", "--state-dir", scratch.path]
        let result = try await RunwayExecutable.run(arguments + ["--store", "postgres://runway:hunter2@127.0.0.1:1/runway"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--store-password-file") && !result.stderr.contains("hunter2"), "\(result.stderr)")
    }

    /// Launchers can be switched off: a profile naming one is an error of validate (and of
    /// apply and the controller, which load the same way) at its file:line:col; an unknown
    /// name in --plugins is refused.
    @Test func aSwitchedOffLauncherIsAValidateError() async throws {
        let samples = Repository.path("Samples/local")
        let off = try await RunwayExecutable.run(["validate", samples, "--plugins", "docker,kubernetes"])
        #expect(off.status == 1)
        #expect(off.stderr.contains(".yaml:") && off.stderr.contains("error: plugin 'local' is switched off on this controller"), "\(off.stderr)")
        #expect(off.stderr.contains("enabled: docker, kubernetes (--plugins, RUNWAY_PLUGINS)"), "\(off.stderr)")
        #expect(try await RunwayExecutable.run(["validate", samples], environment: ["RUNWAY_PLUGINS": "local"]).status == 0)
        let unknown = try await RunwayExecutable.run(["validate", samples, "--plugins", "lcoal"])
        #expect(unknown.status != 0 && unknown.stderr.contains("--plugins names no launcher of this build: lcoal"), "\(unknown.stderr)")
        let apply = try await RunwayExecutable.run(["apply", samples, "--plugins", "docker", "--state-dir", TemporaryDirectory().path])
        #expect(apply.status == 2 && apply.stderr.contains("plugin 'local' is switched off"), "\(apply.stderr)")
    }

    @Test func usageErrorsExitNonZero() async throws {
        let result = try await RunwayExecutable.run(["plan"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("Missing expected argument"))
    }
}

extension CLITests {
    /// A `RUNWAY_*` variable whose value its option cannot take is refused, naming it, instead
    /// of the default silently applying.
    @Test func aBadEnvironmentValueIsRefusedByName() async throws {
        let apply = try await RunwayExecutable.run(
            ["apply", "/nonexistent-manifests"], environment: ["RUNWAY_HEARTBEAT_INTERVAL": "abc", "RUNWAY_PARALLELISM": "many"])
        #expect(apply.status != 0)
        #expect(apply.stderr.contains("RUNWAY_HEARTBEAT_INTERVAL must be a duration like 30s, 2m or 1h30m, got 'abc'"), "\(apply.stderr)")
        #expect(apply.stderr.contains("RUNWAY_PARALLELISM must be a whole number, got 'many'"), "\(apply.stderr)")
        let status = try await RunwayExecutable.run(["status"], environment: ["RUNWAY_STORE_TIMEOUT": "soon"])
        #expect(status.status != 0 && status.stderr.contains("RUNWAY_STORE_TIMEOUT must be a duration"), "\(status.stderr)")
    }
}
