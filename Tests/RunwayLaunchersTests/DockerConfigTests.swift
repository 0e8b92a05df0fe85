import RunwayManifests
import RunwayModel
import Testing

@testable import RunwayLaunchers

/// The docker profile config as `runway validate` reads it, and the engine endpoints.
@Suite struct DockerConfigTests {
    func read(_ yaml: String) -> (DockerSettings, [String]) {
        var diagnostics: [Diagnostic] = []
        let node = ConfigNode.parseYAML(yaml, path: "p.yaml", diagnostics: &diagnostics)!
        let settings = DockerSettings(node, diagnostics: &diagnostics)
        return (settings, diagnostics.map(\.description))
    }

    @Test func everyKeyIsRead() {
        let (settings, problems) = read("""
            host: tcp://10.0.0.5:2376
            network: host
            binds: [/cache:/cache:ro]
            resources: {memory: 512Mi, cpu: 500m}
            pull: always
            extraHosts: ["registry:10.0.0.9"]
            labels: {team: platform}
            user: "1000:1000"
            registryAuth: {fromEnv: REGISTRY_AUTH}
            grace: 30s
            init: true
            pullTimeout: 10m
            pullStallTimeout: 2m
            """)
        #expect(settings.useInit && settings.pullTimeout == .seconds(600) && settings.pullStallTimeout == .seconds(120))
        #expect(problems.isEmpty, "\(problems)")
        #expect(settings.host == "tcp://10.0.0.5:2376" && settings.network == "host" && settings.binds == ["/cache:/cache:ro"])
        #expect(settings.memoryBytes == 512 << 20 && settings.nanoCPUs == 500_000_000)
        #expect(settings.pull == .always && settings.extraHosts == ["registry:10.0.0.9"] && settings.labels == ["team": "platform"])
        #expect(settings.user == "1000:1000" && settings.registryAuth == .fromEnv("REGISTRY_AUTH") && settings.grace == .seconds(30))
        #expect(read("memory: 1").1.count == 1, "an unknown key is an error")
        #expect(read("{}").0 == DockerSettings(), "every key is optional")
    }

    @Test func badValuesAreErrorsNamingTheField() {
        let (_, problems) = read("""
            host: ftp://somewhere
            resources: {memory: lots, cpu: -1, disk: 1Gi}
            pull: sometimes
            labels: {runway.io/job: mine}
            registryAuth: plain-text-password
            grace: soon
            init: sometimes
            netwrok: host
            """)
        let expected = [
            "'spec.config.host' must be unix:///path, tcp://host:port or http(s)://host:port, found 'ftp://somewhere'",
            "'spec.config.resources.memory' must be a memory size like 512Mi, 2Gi or 500M, found 'lots'",
            "'spec.config.resources.cpu' must be a CPU amount like 0.5, 2 or 500m, found '-1'",
            "unknown key 'disk' in 'spec.config.resources'",
            "'spec.config.pull' must be one of missing, always, never, found 'sometimes'",
            "label 'runway.io/job' in 'spec.config.labels' is reserved",
            "secret 'registryAuth' has an inline value; secrets must be references",
            "'spec.config.grace'",
            "'spec.config.init'",
            "unknown key 'netwrok' in 'spec.config'",
        ]
        for text in expected {
            #expect(problems.contains { $0.contains(text) }, "missing: \(text)\nin: \(problems.joined(separator: "\n"))")
        }
        #expect(problems.contains { $0.contains("did you mean 'network'?") })
    }

    @Test func endpointsComeFromHostThenDOCKER_HOSTThenTheDefaultSocket() {
        #expect(DockerEndpoint.resolve(host: nil, environment: [:])?.socket == "/var/run/docker.sock")
        #expect(DockerEndpoint.resolve(host: nil, environment: ["DOCKER_HOST": "unix:///run/d.sock"])?.socket == "/run/d.sock")
        let tcp = DockerEndpoint.resolve(host: "tcp://10.0.0.5:2376", environment: ["DOCKER_HOST": "unix:///run/d.sock"])
        #expect(tcp?.socket == nil && tcp?.baseURL == "tcp://10.0.0.5:2376")
        #expect(DockerEndpoint("unix://relative.sock") == nil && DockerEndpoint("tcp://host:1/path") == nil)
        #expect(DockerLauncher.splitTag("registry:5000/team/runner:1.2") == ("registry:5000/team/runner", "1.2"))
        #expect(DockerLauncher.splitTag("registry:5000/runner") == ("registry:5000/runner", "latest"))
        #expect(APIVersion("1.41")! < APIVersion("1.100")! && APIVersion("1.47")! > DockerEngine.oldest)
    }
}
