import Foundation
import RunwayLaunchers
import RunwayModel
import RunwayTestSupport
import Testing

extension NomadTests {
    /// `fromNomadVariable` entries become one `template` Nomad renders into the task's
    /// environment from its Variables; the job Runway registers (as the test Nomad, which checks
    /// it against the job specification, returns it) carries no value, only the template.
    @Test func aNomadVariableIsRenderedByATemplate() async throws {
        let setup = try await Setup()
        let config = LauncherConformanceTests.config(setup.server.config(namespace: setup.namespace, extra: ", driver: raw_exec, command: /bin/true"))
        let launcher = NomadLauncher(environment: [:], trust: TestNomad.trust)
        #expect(launcher.validate(config: config).isEmpty)
        let owner = TaskOwner(job: "vars", generation: Generation(digest: "0123456789abcdef"), attempt: 1, profile: "nomad")
        var spec = TaskSpec(
            name: owner.taskName(), labels: TaskLabels.labels(controllerID: setup.controllerID, owner: owner), owner: owner, config: config)
        spec.platformSecrets = [
            "DB": .nomadVariable(path: "nomad/jobs/db", key: "password"), "API": .nomadVariable(path: "shared/api", key: "token"),
        ]
        let handle = try await launcher.startTask(spec)
        let text = try await setup.server.request("GET", "/v1/job/\(owner.taskName())?namespace=\(setup.namespace)")
        let job = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let task = (((job?["TaskGroups"] as? [[String: Any]])?.first?["Tasks"]) as? [[String: Any]])?.first
        let templates = task?["Templates"] as? [[String: Any]] ?? []
        #expect(templates.count == 1, "\(text)")
        #expect(templates.first?["EmbeddedTmpl"] as? String == """
            API={{ with nomadVar "shared/api" }}{{ .token }}{{ end }}
            DB={{ with nomadVar "nomad/jobs/db" }}{{ .password }}{{ end }}

            """)
        #expect(templates.first?["DestPath"] as? String == "secrets/runway-variables.env")
        #expect(templates.first?["Envvars"] as? Bool == true && templates.first?["ChangeMode"] as? String == "noop")
        #expect((task?["Env"] as? [String: String])?["DB"] == nil)
        try await launcher.stopTask(handle)
    }
}
