import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

@Suite struct SamplesTests {
    @Test func localSamplesAreValid() throws {
        let load = ManifestLoader().load(paths: [Repository.path("Samples/local")])
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        #expect(load.fileCount == 3)
        #expect(load.desired.profiles.keys.sorted() == ["local-default", "local-pair"])
        #expect(load.desired.defaultProfile?.name == "local-default")
        #expect(load.desired.profiles["local-pair"]?.maxConcurrent == 2)
        #expect(load.desired.profiles["local-default"]?.startTimeout == .seconds(30))
        #expect(load.desired.jobs.count == 7)
        let flaky = try #require(load.desired.jobs["flaky"])
        #expect(flaky.profile == "local-default")
        #expect(flaky.spec.retries == 2)
        #expect(load.desired.jobs["environment"]?.spec.environment == ["TARGET": "release"])
        #expect(load.desired.jobs["environment"]?.spec.workingDirectory == "/tmp")
        #expect(load.desired.jobs.values.filter { $0.profile == "local-pair" }.count == 4)
    }

    @Test func failureSamplesAreValid() {
        let load = ManifestLoader().load(paths: [Repository.path("Samples/failures")])
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        #expect(load.desired.jobs["never-connects"]?.profile == "local-silent")
        #expect(load.desired.profiles["local-silent"]?.config?["command"]?.items?.count == 2)
    }

    /// Every entry of Samples/invalid/ (a file, or a folder loaded as one) against its golden
    /// diagnostics; each must produce at least one diagnostic, all compiler-style.
    /// Every platform accepted, the docker, kubernetes and nomad launchers' configs checked by
    /// the launchers themselves.
    static let loader: ManifestLoader = {
        var catalog = PluginCatalog.builtIn
        let docker = DockerLauncher(environment: [:])
        let kubernetes = KubernetesLauncher(environment: [:])
        catalog.validators["docker"] = { docker.validate(config: $0) }
        let nomad = NomadLauncher(environment: [:])
        catalog.validators["kubernetes"] = { kubernetes.validate(config: $0) }
        catalog.validators["nomad"] = { nomad.validate(config: $0) }
        return ManifestLoader(configuration: .init(plugins: catalog))
    }()

    @Test(arguments: try! FileManager.default.contentsOfDirectory(atPath: Repository.path("Samples/invalid")).sorted())
    func invalidSampleDiagnostics(entry: String) throws {
        let load = Self.loader.load(paths: [Repository.path("Samples/invalid/\(entry)")])
        let lines = load.diagnostics.map { Repository.relativize($0.description) }
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.firstMatch(of: #/^Samples/invalid/[^:]+:\d+:\d+: (error|warning): /#) != nil, "\(line)")
        }
        let text = lines.joined(separator: "\n") + "\n"
        if let failure = Golden.check(text, against: "invalid/\(entry).txt") { Issue.record(Comment(rawValue: failure)) }
    }

    @Test func wholeInvalidDirectoryReportsEveryFile() {
        let load = Self.loader.load(paths: [Repository.path("Samples/invalid")])
        #expect(!load.isValid)
        let files = Set(load.diagnostics.map { ($0.location.path as NSString).lastPathComponent })
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: Repository.path("Samples/invalid"))) ?? []
        // Every file has a problem of its own, except no-default.yaml, whose job is only
        // unresolvable when two-defaults.yaml is not beside it.
        for entry in entries where !entry.hasSuffix("no-default.yaml") && entry != "duplicate-names" {
            #expect(files.contains(entry), "no diagnostic for \(entry)")
        }
        #expect(files.contains("second.yaml"))
    }
}
