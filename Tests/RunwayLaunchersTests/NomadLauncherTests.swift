import Foundation
import RunwayManifests
import RunwayModel
import Testing

@testable import RunwayLaunchers

/// The nomad profile config, the job Runway registers, and how allocations and evaluations map
/// onto task states.
@Suite struct NomadLauncherTests {
    func read(_ yaml: String) -> (NomadSettings, [String]) {
        var diagnostics: [Diagnostic] = []
        let node = ConfigNode.parseYAML(yaml, path: "p.yaml", diagnostics: &diagnostics)!
        let settings = NomadSettings(node, diagnostics: &diagnostics)
        return (settings, diagnostics.map(\.description))
    }

    @Test func everyKeyIsReadAndTheJobCarriesIt() throws {
        let (settings, problems) = read("""
            address: https://nomad.example:4646/
            region: eu
            namespace: runners
            datacenters: [dc1, dc2]
            token: {fromEnv: RUNWAY_NOMAD_TOKEN}
            caCert: /etc/nomad/ca.pem
            clientCert: /etc/nomad/cli.pem
            clientKey: /etc/nomad/cli-key.pem
            tlsServerName: server.eu.nomad
            driver: docker
            resources: {cpu: 500, memory: 256}
            constraints: [{attribute: "${node.class}", value: ci}, {attribute: "${attr.kernel.name}", operator: "!=", value: windows}]
            meta: {team: web}
            priority: 70
            grace: 30s
            placementTimeout: 5m
            """)
        #expect(problems.isEmpty, "\(problems)")
        #expect(settings.address == "https://nomad.example:4646" && settings.region == "eu" && settings.namespace == "runners")
        #expect(settings.token == .fromEnv("RUNWAY_NOMAD_TOKEN") && settings.tlsServerName == "server.eu.nomad" && settings.priority == 70)
        let owner = TaskOwner(job: "build", generation: Generation(digest: "0123456789abcdef"), attempt: 2, profile: "nomad")
        let task = TaskSpec(
            name: owner.taskName(), labels: TaskLabels.labels(controllerID: "c1", owner: owner), owner: owner, image: "runner:1",
            arguments: ["runner"], environment: ["RUNWAY_TASK_TOKEN": "t"], secretEnvironment: ["KEY": "v"], config: nil)
        let job = try NomadLauncher.job(task, settings: settings, region: "eu", namespace: "runners")
        #expect(job.ID == "runway-build-01234567-2" && job.Type == "batch" && job.Region == "eu" && job.Namespace == "runners")
        #expect(job.Datacenters == ["dc1", "dc2"] && job.Priority == 70)
        #expect(job.Meta?[TaskLabels.managedBy] == "c1" && job.Meta?["team"] == "web" && job.Meta?[TaskLabels.attempt] == "2")
        #expect(job.Constraints?.map(\.Operand) == ["=", "!="] && job.Constraints?.first?.LTarget == "${node.class}")
        let group = try #require(job.TaskGroups.first)
        #expect(group.Count == 1 && group.RestartPolicy.Attempts == 0 && group.RestartPolicy.Mode == "fail" && group.ReschedulePolicy.Attempts == 0 && !group.ReschedulePolicy.Unlimited)
        let runner = try #require(group.Tasks.first)
        #expect(runner.Driver == "docker" && runner.Config["image"] == .string("runner:1") && runner.Config["args"] == .array([.string("runner")]))
        #expect(runner.Resources?.CPU == 500 && runner.Resources?.MemoryMB == 256 && runner.KillTimeout == 30_000_000_000 && runner.KillSignal == "SIGTERM")
        #expect(runner.Env?["KEY"] == "v" && runner.Env?["RUNWAY_TASK_TOKEN"] == "t")

        let exec = try NomadLauncher.job(task, settings: read("{driver: raw_exec, command: /usr/local/bin/runway}").0, region: nil, namespace: "default")
        #expect(exec.TaskGroups[0].Tasks[0].Config == ["command": .string("/usr/local/bin/runway"), "args": .array([.string("runner")])])
        #expect(exec.Datacenters == ["*"])
    }

    @Test func badValuesAreErrorsNamingTheField() {
        let problems = read("""
            address: nomad:4646
            driver: podman
            resources: {cpu: 0, memory: lots}
            constraints: [{attribute: "${node.class}", operator: "~=", value: ci}, {value: x}]
            priority: 101
            token: hunter2
            clientCert: /a.pem
            """).1.joined(separator: "\n")
        #expect(problems.contains("'spec.config.address' must be http(s)://host:port, found 'nomad:4646'"))
        #expect(problems.contains("'spec.config.driver' must be one of docker, exec, raw_exec, found 'podman'"))
        #expect(problems.contains("'spec.config.resources.cpu' must be at least 1 (MHz)"))
        #expect(problems.contains("'spec.config.resources.memory' must be an integer"))
        #expect(problems.contains("'spec.config.constraints[0].operator' must be one of"))
        #expect(problems.contains("'spec.config.constraints[1]' is missing required key 'attribute'"))
        #expect(problems.contains("'spec.config.priority' must be between 1 and 100, found 101"))
        #expect(problems.contains("secret 'token' has an inline value"))
        #expect(problems.contains("'spec.config.clientCert' and 'spec.config.clientKey' go together"))
    }

    func allocation(_ status: String, _ events: [String]) throws -> Nomad.Allocation {
        let json = #"{"ID":"a","ClientStatus":"\#(status)","CreateTime":1,"TaskStates":{"runner":{"State":"dead","Events":[\#(events.joined(separator: ","))]}}}"#
        return try JSONDecoder().decode(Nomad.Allocation.self, from: Data(json.utf8))
    }

    @Test func allocationsAndEvaluationsMapOntoTaskStates() throws {
        #expect(NomadLauncher.state(of: [try allocation("running", [])]) == (.running, nil, nil))
        #expect(NomadLauncher.state(of: [try allocation("complete", [#"{"Type":"Terminated","ExitCode":0}"#])]) == (.exited, 0, nil))
        #expect(NomadLauncher.state(of: [try allocation("failed", [#"{"Type":"Terminated","ExitCode":3}"#])]) == (.exited, 3, nil))
        #expect(NomadLauncher.state(of: [try allocation("failed", [#"{"Type":"Terminated","ExitCode":0,"Signal":9}"#])]) == (.exited, 137, nil))
        #expect(NomadLauncher.state(of: [try allocation("failed", [#"{"Type":"Driver Failure","DriverError":"Failed to pull `x:1`"}"#])])
            == (.exited, nil, "driver failure: Failed to pull `x:1`"))
        #expect(NomadLauncher.state(of: [try allocation("lost", [])]).2 == "allocation lost (its node went down)")
        let blocked = #"[{"Status":"blocked","CreateTime":1000000000,"FailedTGAllocs":{"runner":{"NodesEvaluated":3,"ConstraintFiltered":{"${node.class} = gpu":3},"DimensionExhausted":{"memory":1}}}}]"#
        let evaluations = try JSONDecoder().decode([Nomad.Evaluation].self, from: Data(blocked.utf8))
        #expect(NomadLauncher.placementFailure(evaluations, now: Date(timeIntervalSince1970: 500), timeout: .seconds(60))
            == "placement failed: constraint ${node.class} = gpu filtered 3 node(s); memory exhausted on 1 node(s)")
        #expect(NomadLauncher.placementFailure(evaluations, now: Date(timeIntervalSince1970: 30), timeout: .seconds(60)) == nil, "still within the timeout")
    }
}
