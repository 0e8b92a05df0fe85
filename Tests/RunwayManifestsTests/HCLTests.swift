import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// The HCL syntax: the same models as YAML, every expression form, and its own checks.
@Suite struct HCLTests {
    func load(_ text: String, path: String = "test.hcl") -> ManifestLoad {
        ManifestLoader().load(text: text, path: path)
    }

    func config(_ body: String) throws -> ConfigNode {
        let load = load("runner_profile \"p\" {\n  plugin = \"local\"\n  config {\n\(body)\n  }\n}\n")
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        return try #require(load.desired.profiles["p"]?.config)
    }

    @Test func theHCLSamplesLoadToTheSameModelsAsTheYAMLOnes() {
        let hcl = ManifestLoader().load(paths: [Repository.path("Samples/hcl")])
        let yaml = ManifestLoader().load(paths: [Repository.path("Samples/local")])
        #expect(hcl.diagnostics.isEmpty, "\(hcl.diagnostics)")
        #expect(hcl.desired.jobs.count == 7 && hcl.desired.profiles.count == 2)
        #expect(ModelComparison.differences(hcl.desired, yaml.desired) == [])
    }

    @Test func everyExpressionFormReadsAsItsYAMLEquivalent() throws {
        let node = try config(#"""
                # comments of three kinds
                name = "a \"quoted\" \\ tab\there\nline \u00e9 \U0001F600" // trailing
                /* a block
                   comment */
                literal  = "$${not interpolated} and %%{not a directive}"
                count    = 42
                ratio    = -1.5e3
                on       = true
                off      = false
                nothing  = null
                list     = ["a", 1, true,]
                nested   = [[], [["deep"]]]
                object   = { plain = "p", "quoted key" = "q", colon: "c"
                             next_line = "n" }
                script   = <<EOT
                  kept as written
                EOT
                indented = <<-EOT
                    first
                      second
                    EOT
                snake_key = "converted"
                inner {
                  deeper_block { value = 1 }
                }
            """#)
        func scalar(_ key: String) -> String? { node[key]?.scalar?.text }
        #expect(scalar("name") == "a \"quoted\" \\ tab\there\nline é 😀")
        #expect(scalar("literal") == "${not interpolated} and %{not a directive}")
        #expect(scalar("count") == "42" && node["count"]?.scalar?.isQuoted == false)
        #expect(scalar("ratio") == "-1.5e3")
        #expect(scalar("on") == "true" && scalar("off") == "false" && node["nothing"]?.isNull == true)
        #expect(node["list"]?.items?.map { $0.scalar?.text } == ["a", "1", "true"])
        #expect(node["nested"].map(ModelComparison.canonical) == #"[[],[["deep"]]]"#)
        #expect(node["object"].map(ModelComparison.canonical) == #"{colon:"c",next_line:"n",plain:"p",quoted key:"q"}"#)
        #expect(scalar("script") == "      kept as written\n")
        #expect(scalar("indented") == "first\n  second\n")
        #expect(scalar("snakeKey") == "converted", "attribute names in snake_case become camelCase")
        #expect(node["inner"]?["deeperBlock"]?["value"]?.scalar?.text == "1", "nested blocks are mappings")
        #expect(node["name"]?.location.line == 5 && node["name"]?.location.column == 12, "values carry their positions")
    }

    @Test func snakeCaseFieldsLabelsAndEnvSecretsMapOntoTheYAMLModel() throws {
        let load = load(#"""
            runner_profile "web" {
              plugin             = "local"
              default            = true
              labels             = { team = "web" }
              max_concurrent     = 3
              start_timeout      = "2m"
              environment        = { LOG_LEVEL = "debug", snake_case_var = "kept" }
              secret_environment = {
                TOKEN = env("RUNWAY_SECRET_REGISTRY")
                KEY   = { fromFile = "/etc/runway/secrets/key" }
              }
            }

            job "build" {
              command           = ["make"]
              working_directory = "/src"
              retries           = 1
            }
            """#)
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        let profile = try #require(load.desired.profiles["web"])
        #expect(profile.labels == ["team": "web"] && profile.maxConcurrent == 3 && profile.startTimeout == .seconds(120))
        #expect(profile.environment == ["LOG_LEVEL": "debug", "snake_case_var": "kept"], "object keys are data: never renamed")
        #expect(profile.secretEnvironment == ["TOKEN": .fromEnv("RUNWAY_SECRET_REGISTRY"), "KEY": .fromFile("/etc/runway/secrets/key")])
        let job = try #require(load.desired.jobs["build"])
        #expect(job.spec.workingDirectory == "/src" && job.spec.retries == 1 && job.profile == "web")
    }

    @Test func aYAMLProfileTakesItsConfigFromAnHCLConfigFile() throws {
        let scratch = TemporaryDirectory()
        try scratch.write("profile.yaml", """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: from-file}
            spec:
              plugin: docker
              default: true
              configFile: docker.hcl

            """)
        try scratch.write("docker.hcl", """
            network = "host"
            pull    = "never"
            resources {
              memory = "256Mi"
            }
            extra_hosts = ["registry:10.0.0.9"]

            """)
        let load = ManifestLoader().load(paths: [scratch.path])
        #expect(load.diagnostics.isEmpty, "the config file is not read as a manifest: \(load.diagnostics)")
        #expect(load.fileCount == 1)
        let config = try #require(load.desired.profiles["from-file"]?.config)
        #expect(ModelComparison.canonical(config)
            == #"{extraHosts:["registry:10.0.0.9"],network:"host",pull:"never",resources:{memory:"256Mi"}}"#)

        try scratch.write("profile.yaml", """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: both}
            spec: {plugin: docker, default: true, configFile: missing.hcl, config: {pull: never}}

            """)
        let both = ManifestLoader().load(paths: [scratch.path + "/profile.yaml"])
        #expect(both.diagnostics.map(\.message) == ["'spec.configFile' and 'spec.config' are both set; choose one"])
        try scratch.write("profile.yaml", "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: gone}\nspec: {plugin: docker, default: true, configFile: missing.hcl}\n")
        let missing = ManifestLoader().load(paths: [scratch.path + "/profile.yaml"])
        #expect(missing.diagnostics.first?.message.hasPrefix("cannot read configFile 'missing.hcl'") == true, "\(missing.diagnostics)")
    }

    /// A configFile must stay inside the manifest directory — `..`, an absolute path or a
    /// symlink out of it are refused by file:line:col without reading the file — and a config
    /// file that holds no mapping is refused without its content being echoed.
    @Test func aConfigFileOutsideTheManifestDirectoryIsRefusedAndNoContentIsEchoed() throws {
        let scratch = TemporaryDirectory()
        try scratch.write("secret.txt", "s3cr3t-value\n")
        try scratch.write("manifests/inside.hcl", "network = \"host\"\n")
        let manifests = scratch.path + "/manifests"
        #expect(symlink(scratch.path + "/secret.txt", manifests + "/link.yaml") == 0)
        func profile(_ reference: String) -> String {
            "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: p}\nspec: {plugin: docker, default: true, configFile: \"\(reference)\"}\n"
        }
        for reference in ["../secret.txt", scratch.path + "/secret.txt", "link.yaml"] {
            try scratch.write("manifests/profile.yaml", profile(reference))
            let load = ManifestLoader().load(paths: [manifests])
            let errors = load.diagnostics.filter { $0.severity == .error && $0.location.path.hasSuffix("profile.yaml") }
            #expect(errors.map(\.description) == [
                "\(manifests)/profile.yaml:4:51: error: configFile '\(reference)' is outside the manifest directory; a profile's config file must live beside its manifests"
            ], "\(reference): \(errors)")
            #expect(!load.diagnostics.contains { $0.description.contains("s3cr3t") })
        }
        try scratch.write("manifests/profile.yaml", profile("inside.hcl"))
        #expect(ManifestLoader().load(paths: [manifests]).diagnostics.filter { $0.location.path.hasSuffix("profile.yaml") }.isEmpty)
        // Inside, but a scalar rather than a mapping: named, never echoed.
        try scratch.write("manifests/plain.yaml", "another-s3cr3t\n")
        try scratch.write("manifests/profile.yaml", profile("plain.yaml"))
        let plain = ManifestLoader().load(paths: [manifests])
        #expect(plain.diagnostics.contains { $0.message == "configFile 'plain.yaml' does not hold a mapping of config keys" }, "\(plain.diagnostics)")
        #expect(!plain.diagnostics.contains { $0.description.contains("s3cr3t") }, "\(plain.diagnostics)")
        // A bad value inside a config file is named by its place, never quoted (a manifest's own is).
        try scratch.write("manifests/bad.hcl", "pull = \"s3cr3t-pull\"\nuser = [\"not\", \"a\", \"string\"]\n")
        try scratch.write("manifests/profile.yaml", profile("bad.hcl"))
        let docker = DockerLauncher(environment: [:])
        var catalog = PluginCatalog.builtIn
        catalog.validators["docker"] = { docker.validate(config: $0) }
        let bad = ManifestLoader(configuration: .init(plugins: catalog)).load(paths: [manifests])
        let inFile = bad.diagnostics.filter { $0.location.path.hasSuffix("bad.hcl") }
        #expect(inFile.map(\.description) == [
            "\(manifests)/bad.hcl:1:8: error: 'spec.config.pull' must be one of missing, always, never, found a value (not shown: it was read from a config file)",
            "\(manifests)/bad.hcl:2:8: error: 'spec.config.user' must be a string, found a list",
        ], "\(inFile)")
        #expect(!bad.diagnostics.contains { $0.description.contains("s3cr3t") })
    }

    @Test func hostileInputEndsInDiagnosticsNotCrashes() {
        let deep = "job \"x\" {\n  command = " + String(repeating: "[", count: 100_000) + "\n}\n"
        #expect(load(deep).diagnostics.contains { $0.message == "nested more than 64 levels deep" })
        let blocks = String(repeating: "a {\n", count: 10_000)
        #expect(load(blocks).diagnostics.contains { $0.message == "nested more than 64 levels deep" })
        #expect(load(String(decoding: [0xFF, 0xFE, 0x00], as: UTF8.self)).diagnostics.isEmpty == false)
        #expect(ManifestLoader().load(bytes: [0xC3, 0x28], path: "bad.hcl").diagnostics.map(\.message) == ["the file is not valid UTF-8"])
    }
}
