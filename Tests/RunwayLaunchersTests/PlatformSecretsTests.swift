import Foundation
import RunwayLaunchers
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// Secrets the platform resolves itself: written in a manifest, checked against the profile's
/// platform, and rendered the way that platform expects (their values never reach Runway).
@Suite struct PlatformSecretsTests {
    func load(_ plugin: String, _ secrets: String) -> ManifestLoad {
        ManifestLoader().load(text: """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: p}
            spec:
              plugin: \(plugin)
              secretEnvironment: \(secrets)
            """, path: "p.yaml")
    }

    @Test func eachPlatformsOwnKindIsReadAndOthersAreRefusedByLine() throws {
        let kubernetes = load("kubernetes", "{DB: {fromKubernetesSecret: {name: db, key: password}}}")
        #expect(kubernetes.diagnostics.isEmpty, "\(kubernetes.diagnostics)")
        #expect(kubernetes.desired.profiles["p"]?.secretEnvironment == ["DB": .kubernetesSecret(name: "db", key: "password")])
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
        let ecs = load("ecs", "{DB: {fromAWSSecret: \"\(arn)\"}, P: {fromAWSSecret: \"arn:aws:ssm:us-east-1:123456789012:parameter/db\"}}")
        #expect(ecs.desired.profiles["p"]?.secretEnvironment["DB"] == .awsSecret(arn: arn))
        let nomad = load("nomad", "{DB: {fromNomadVariable: {path: nomad/jobs/db, key: password}}}")
        #expect(nomad.desired.profiles["p"]?.secretEnvironment == ["DB": .nomadVariable(path: "nomad/jobs/db", key: "password")])

        let wrong = load("docker", "{DB: {fromKubernetesSecret: {name: db, key: password}}}")
        #expect(wrong.diagnostics.map(\.description) == [
            "p.yaml:6:27: error: secret 'DB': fromKubernetesSecret is resolved by kubernetes, but this profile runs on docker (on docker, use fromEnv or fromFile)"
        ])
        let crossed = load("nomad", "{DB: {fromAWSSecret: \"\(arn)\"}}")
        #expect(crossed.diagnostics.first?.code == "secret-wrong-platform" && crossed.diagnostics.first?.location.line == 6)
        #expect(load("ecs", "{DB: {fromAWSSecret: not-an-arn}}").diagnostics.first?.code == "bad-value")
        #expect(load("nomad", "{DB: {fromNomadVariable: {path: p, key: \"a-b\"}}}").diagnostics.first?.code == "bad-value")
        #expect(load("kubernetes", "{DB: {fromKubernetesSecret: {name: db}}}").diagnostics.first?.code == "missing-field")
        let both = load("kubernetes", "{DB: {fromEnv: RUNWAY_SECRET_X, fromKubernetesSecret: {name: db, key: k}}}")
        #expect(both.diagnostics.first?.message.contains("sets both fromEnv and fromKubernetesSecret") == true, "\(both.diagnostics)")
    }

    @Test func theControllerNeverResolvesThemItself() throws {
        let secrets: [String: SecretReference] = [
            "DB": .kubernetesSecret(name: "db", key: "password"), "OWN": .fromEnv("RUNWAY_SECRET_X"),
        ]
        setenv("RUNWAY_SECRET_X", "x", 1)
        #expect(try SecretResolver.resolve(secrets, trust: TrustPolicy()) == ["OWN": "x"], "the platform's are left to it")
        #expect(throws: SecretResolver.Failure.self) { try SecretResolver.resolve(.awsSecret(arn: "arn:aws:ssm:x"), name: "A", trust: TrustPolicy()) }
    }
}
