import RunwayManifests
import RunwayModel
import Testing

@testable import RunwayLaunchers

/// Every duration in a launcher's config has an upper bound, checked where the config is read
/// (`runway validate` and every start): a huge `grace` used to pass and then trap on Nomad's
/// nanoseconds at every start.
@Suite struct LauncherLimitsTests {
    static func problems(_ plugin: String, _ yaml: String) -> [String] {
        var diagnostics: [Diagnostic] = []
        let node = ConfigNode.parseYAML(yaml, path: "p.yaml", diagnostics: &diagnostics)!
        switch plugin {
        case "local": _ = Settings(node, diagnostics: &diagnostics)
        case "docker": _ = DockerSettings(node, diagnostics: &diagnostics)
        case "kubernetes": _ = KubernetesSettings(node, diagnostics: &diagnostics)
        case "nomad": _ = NomadSettings(node, diagnostics: &diagnostics)
        default: Issue.record("no launcher \(plugin)")
        }
        return diagnostics.map(\.description)
    }

    @Test(arguments: ["local", "docker", "kubernetes", "nomad"])
    func graceIsAtMostAnHour(plugin: String) {
        #expect(Self.problems(plugin, "grace: 1h").isEmpty)
        let problems = Self.problems(plugin, "grace: 100000000d")
        #expect(problems.count == 1 && problems[0].contains("'spec.config.grace' must be at most 1h, found '100000000d'"), "\(problems)")
        #expect(Self.problems(plugin, "grace: 61m").count == 1)
    }

    @Test(arguments: [("kubernetes", "unschedulableTimeout"), ("nomad", "placementTimeout"), ("docker", "pullTimeout")])
    func placementWaitsAreAtMostADay(plugin: String, key: String) {
        #expect(Self.problems(plugin, "\(key): 1d").isEmpty)
        let problems = Self.problems(plugin, "\(key): 25h")
        #expect(problems.count == 1 && problems[0].contains("'spec.config.\(key)' must be at most 1d, found '25h'"), "\(problems)")
    }

    @Test func aPullMayStallAtMostAnHour() {
        #expect(Self.problems("docker", "pullStallTimeout: 1h").isEmpty)
        let problems = Self.problems("docker", "pullStallTimeout: 2h")
        #expect(problems.count == 1 && problems[0].contains("'spec.config.pullStallTimeout' must be at most 1h, found '2h'"), "\(problems)")
    }
}
