import Foundation
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

@Suite struct DecodingTests {
    /// The design example's secrets come from REGISTRY_TOKEN and /var/run/secrets: an operator
    /// running it allows both (--secret-env REGISTRY_TOKEN --secret-dirs /var/run/secrets).
    let loader = ManifestLoader(configuration: .init(plugins: PluginCatalog(
        validators: PluginCatalog.builtIn.validators,
        trust: TrustPolicy(secretVariables: ["REGISTRY_TOKEN"], secretDirectories: ["/var/run/secrets"]))))

    @Test func decodesEveryFieldOfTheDesignExample() throws {
        let load = loader.load(text: """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata:
              name: k8s-small
              labels: { team: web }
            spec:
              plugin: kubernetes
              default: false
              image: ghcr.io/acme/runner:1.4
              environment: { LOG_LEVEL: debug, PORT: 8080 }
              secretEnvironment:
                REGISTRY_TOKEN: { fromEnv: REGISTRY_TOKEN }
                CERT: { fromFile: /var/run/secrets/x }
              maxConcurrent: 10
              startTimeout: 2m
              config:
                namespace: runners
                resources: { cpu: 500m, memory: 512Mi }
            ---
            apiVersion: runway/v1
            kind: Job
            metadata:
              name: build-web
            spec:
              profile: k8s-small
              command: [sh, -c, "make build"]
              workingDirectory: /workspace
              environment: { TARGET: release }
              timeout: 30m
              retries: 2
            """, path: "design.yaml")
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        let profile = try #require(load.desired.profiles["k8s-small"])
        #expect(profile.plugin == "kubernetes")
        #expect(!profile.isDefault)
        #expect(profile.image == "ghcr.io/acme/runner:1.4")
        #expect(profile.labels == ["team": "web"])
        #expect(profile.environment == ["LOG_LEVEL": "debug", "PORT": "8080"])
        #expect(profile.secretEnvironment == ["REGISTRY_TOKEN": .fromEnv("REGISTRY_TOKEN"), "CERT": .fromFile("/var/run/secrets/x")])
        #expect(profile.maxConcurrent == 10)
        #expect(profile.startTimeout == .seconds(120))
        #expect(profile.config?["resources"]?["memory"]?.scalar?.text == "512Mi")
        #expect(profile.config?["namespace"]?.location == SourceLocation(path: "design.yaml", line: 17, column: 16))
        #expect(profile.location == SourceLocation(path: "design.yaml", line: 4, column: 9))
        let job = try #require(load.desired.jobs["build-web"])
        #expect(job.spec.command == ["sh", "-c", "make build"])
        #expect(job.spec.workingDirectory == "/workspace")
        #expect(job.spec.timeout == .seconds(1800))
        #expect(job.spec.retries == 2)
        #expect(job.profile == "k8s-small")
    }

    @Test func defaultsApplyWhenFieldsAreOmitted() throws {
        let load = loader.load(text: """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: { name: p }
            spec: { plugin: local, default: true }
            ---
            apiVersion: runway/v1
            kind: Job
            metadata: { name: j }
            spec: { command: [true] }
            """, path: "d.yaml")
        #expect(load.isValid)
        let profile = try #require(load.desired.profiles["p"])
        #expect(profile.startTimeout == RunnerProfile.defaultStartTimeout)
        #expect(profile.maxConcurrent == nil)
        #expect(profile.image == nil)
        let job = try #require(load.desired.jobs["j"])
        #expect(job.profile == "p")
        #expect(job.spec.retries == 0)
        #expect(job.spec.timeout == nil)
    }

    @Test func jsonManifestsLoadWithPositions() throws {
        let directory = TemporaryDirectory()
        try directory.write("objects.json", """
            {"apiVersion": "runway/v1", "kind": "RunnerProfile",
             "metadata": {"name": "json-profile"}, "spec": {"plugin": "docker", "default": true, "maxConcurrent": 3}}
            """)
        try directory.write("job.json", """
            {
              "apiVersion": "runway/v1",
              "kind": "Job",
              "metadata": {"name": "json-job"},
              "spec": {"command": ["echo", "a\\/b \\u00e9"], "retries": 1, "timeot": "5m"}
            }
            """)
        let load = loader.load(paths: [directory.path])
        #expect(load.desired.profiles["json-profile"]?.maxConcurrent == 3)
        #expect(load.desired.jobs["json-job"]?.spec.command == ["echo", "a/b é"])
        #expect(load.diagnostics.map(\.description) == [
            "\(directory.path)/job.json:5:62: error: unknown key 'timeot' in 'spec' (did you mean 'timeout'?)"
        ])
    }

    @Test func walksRecursivelySkippingHiddenAndForeignFiles() throws {
        let directory = TemporaryDirectory()
        let profile = "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: p}\nspec: {plugin: local, default: true}\n"
        try directory.write("a/b/c/profile.yml", profile)
        try directory.write(".hidden/broken.yaml", "{{{")
        try directory.write("a/.broken.yaml", "{{{")
        try directory.write("a/README.md", "{{{")
        try directory.write("a/jobs.yaml", """
            ---
            apiVersion: runway/v1
            kind: Job
            metadata: {name: one}
            spec: {command: [true]}
            ---
            ---
            apiVersion: runway/v1
            kind: Job
            metadata: {name: two}
            spec: {command: [true]}
            """)
        let load = loader.load(paths: [directory.path])
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        #expect(load.fileCount == 2)
        #expect(load.desired.jobs.keys.sorted() == ["one", "two"])
    }

    @Test func mergeKeysFillInWhatAMappingDoesNotSet() throws {
        let load = loader.load(text: """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: p}
            spec:
              plugin: docker
              config:
                small: &small {cpu: 250m, memory: 256Mi}
                large:
                  <<: *small
                  memory: 1Gi
            """, path: "merge.yaml")
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        let large = try #require(load.desired.profiles["p"]?.config?["large"])
        #expect(large["cpu"]?.scalar?.text == "250m")
        #expect(large["memory"]?.scalar?.text == "1Gi")
        #expect(large["cpu"]?.location == SourceLocation(path: "merge.yaml", line: 7, column: 25))
    }

    @Test func quotedScalarsAreStrings() {
        let load = loader.load(text: """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: p}
            spec: {plugin: local, default: "true", environment: {FLAG: "true", N: 3}}
            """, path: "q.yaml")
        #expect(load.diagnostics.map(\.description) == [
            "q.yaml:4:32: error: 'spec.default' must be true or false, found the string \"true\""
        ])
    }

    @Test(arguments: [
        ("imgae", "image"),
        ("max_concurrent", "maxConcurrent"),
        ("StartTimeout", "startTimeout"),
        ("enviroment", "environment"),
        ("zzz", nil),
    ] as [(String, String?)])
    func suggestsTheClosestKnownKey(word: String, expected: String?) {
        let load = loader.load(text: """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: p}
            spec: {plugin: local, \(word): 1}
            """, path: "s.yaml")
        let unknown = load.diagnostics.filter { $0.code == "unknown-key" }
        #expect(unknown.count == 1)
        if let expected {
            #expect(unknown.first?.hint == "did you mean '\(expected)'?")
        } else {
            #expect(unknown.first?.hint?.hasPrefix("known keys: config, configFile, default, environment") == true)
        }
    }
}
