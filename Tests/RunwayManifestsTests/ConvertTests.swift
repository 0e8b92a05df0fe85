import Foundation
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// `runway convert`: YAML → HCL → YAML (and HCL → YAML → HCL) gives the same models.
@Suite(.leavesNoProcesses, .leavesNoProcesses) struct ConvertTests {
    static let sampleFiles: [String] = {
        var files: [String] = []
        for directory in ["Samples/local", "Samples/hcl", "Samples/docker", "Samples/ecs", "Samples/failures", "Samples/operate"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: Repository.path(directory))) ?? [] {
                files.append(directory + "/" + name)
            }
        }
        return files.sorted()
    }()

    /// Every field of every document, in one canonical text (the YAML emission is total and
    /// deterministic, so equal texts mean equal models).
    func canonical(_ documents: [ManifestDocument]) -> String { ManifestEmitter.text(documents, as: .yaml) }

    func documents(_ path: String) throws -> [ManifestDocument] {
        let (documents, diagnostics) = ManifestLoader().documents(ofFile: path)
        try #require(diagnostics.isEmpty, "\(path): \(diagnostics)")
        return documents
    }

    @Test(arguments: sampleFiles)
    func aRoundTripThroughTheOtherSyntaxKeepsTheModels(file: String) throws {
        let scratch = TemporaryDirectory()
        let original = try documents(Repository.path(file))
        #expect(!original.isEmpty)
        let syntax = ManifestSyntax(path: file)
        let other: ManifestSyntax = syntax == .hcl ? .yaml : .hcl
        let converted = try scratch.write("converted." + other.rawValue, ManifestEmitter.text(original, as: other))
        let there = try documents(converted)
        let back = try scratch.write("back." + syntax.rawValue, ManifestEmitter.text(there, as: syntax))
        let again = try documents(back)
        #expect(canonical(there) == canonical(original))
        #expect(canonical(again) == canonical(original))
    }

    @Test func awkwardValuesSurviveBothWays() throws {
        let scratch = TemporaryDirectory()
        let path = try scratch.write("awkward.yaml", #"""
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: awkward, labels: {"example.com/team": "a b"}}
            spec:
              plugin: docker
              secretEnvironment: {TOKEN: {fromEnv: RUNWAY_SECRET_T}, KEY: {fromFile: /etc/runway/secrets/key}}
              config: {snake_key: 1, "odd key": [true, null, 1.5, "${not}", "%{no}"], nested: {x_y: "\t\"q\"\n"}}
            ---
            apiVersion: runway/v1
            kind: Job
            metadata: {name: awkward-job}
            spec: {profile: awkward, command: ["sh", "-c", "echo ${HOME} %{x} \\ \u00e9"], environment: {"A_B": ""}, retries: 3}
            """#)
        let original = try documents(path)
        let hcl = try scratch.write("awkward.hcl", ManifestEmitter.text(original, as: .hcl))
        let back = try documents(hcl)
        #expect(canonical(back) == canonical(original), "\(ManifestEmitter.text(original, as: .hcl))")
    }

    @Test func theCLIConvertsAndRefusesBrokenFiles() async throws {
        let converted = try await RunwayExecutable.run(["convert", "Samples/local/profiles.yaml", "--to", "hcl"])
        #expect(converted.status == 0)
        if let failure = Golden.check(converted.stdout, against: "convert/local-profiles.hcl") { Issue.record(Comment(rawValue: failure)) }
        let broken = try await RunwayExecutable.run(["fmt", "Samples/invalid/hcl-syntax.hcl"])
        #expect(broken.status == 2 && broken.stdout.isEmpty)
        #expect(broken.stderr.contains("Samples/invalid/hcl-syntax.hcl:9:11: error: expected '=' or '{' after block type \"command\""))
    }
}
