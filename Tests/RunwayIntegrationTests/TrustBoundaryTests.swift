import Foundation
import RunwayTestSupport
import Testing

/// Endpoints a manifest chooses never get the controller's own credentials, and a manifest's
/// kubeconfig never runs a command: `runway validate` refuses each by file:line:col, and an
/// operator can trust an endpoint explicitly.
@Suite struct TrustBoundaryTests {
    @Test func manifestEndpointsGetNoCredentialsOfTheControllers() async throws {
        let workspace = try Workspace()
        let plugin = try workspace.scratch.write("plugin.sh", "#!/bin/sh\ntouch '\(workspace.root)/plugin-ran'\n")
        chmod(plugin, 0o755)
        let kubeconfig = try workspace.scratch.write("kubeconfig", """
            apiVersion: v1
            kind: Config
            current-context: c
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
            contexts: [{name: c, context: {cluster: c, user: u}}]
            users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: "\(plugin)"}}}]
            """)
        func profile(_ name: String, _ plugin: String, _ config: String) -> String {
            "---\napiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: \(name)}\nspec:\n  plugin: \(plugin)\n  image: busybox\n  config: \(config)\n"
        }
        try workspace.write("profiles.yaml", profile("nomad", "nomad", "{address: \"https://nomad.example:4646\"}")
            + profile("ecs", "ecs", "{cluster: c, region: us-east-1, endpoint: \"https://ecs.example\", subnets: [s]}")
            + profile("docker", "docker", "{host: \"tcp://docker.example:2376\"}")
            + profile("kube", "kubernetes", "{kubeconfig: \"\(kubeconfig)\", namespace: n}")
            + profile("nomad-tls", "nomad", "{clientCert: /etc/ssl/nomad.pem, clientKey: /etc/ssl/private/nomad-key.pem}"))
        let environment = ["NOMAD_TOKEN": "nomad-secret-value", "DOCKER_CERT_PATH": workspace.root + "/docker-certs", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "aws-secret-value"]
        // The kubeconfig is a credential file: manifests may name one only where the operator
        // lets them read secrets.
        let outside = try await RunningCommand(["validate", workspace.manifests], directory: workspace.root, environment: environment).wait()
        #expect(outside.stderr.contains("profiles.yaml:32:24: error: kubeconfig: \(kubeconfig) is outside the directories manifests may read secrets from"),
            "\(outside.stderr)")
        let refused = try await RunningCommand(
            ["validate", workspace.manifests, "--secret-dirs", workspace.root], directory: workspace.root, environment: environment
        ).wait()
        #expect(refused.status != 0)
        let expected = [
            "profiles.yaml:8:21: error: 'spec.config.address' https://nomad.example:4646 is a Nomad this manifest chose",
            "profiles.yaml:16:53: error: 'spec.config.endpoint' https://ecs.example is an endpoint this manifest chose",
            "profiles.yaml:24:18: error: 'spec.config.host' tcp://docker.example:2376 is an engine this manifest chose",
            "profiles.yaml:32:24: error: kubeconfig \(kubeconfig), named in a manifest, runs the credential plugin",
        ]
        for line in expected { #expect(refused.stderr.contains(line), "\(line)\n---\n\(refused.stderr)") }
        for value in ["nomad-secret-value", "aws-secret-value"] { #expect(!refused.stderr.contains(value)) }
        // A client key is a credential file too: only where manifests may read secrets.
        #expect(refused.stderr.contains(
            "profiles.yaml:40:55: error: 'spec.config.clientKey': /etc/ssl/private/nomad-key.pem is outside the directories manifests may read secrets from"),
            "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.root + "/plugin-ran"), "the manifest's plugin never ran")

        // Trusted by the operator, the endpoints pass (the kubeconfig's plugin still does not).
        let trusted = try await RunningCommand(
            ["validate", workspace.manifests, "--secret-dirs", workspace.root,
             "--trusted-endpoints", "https://nomad.example:4646,https://ecs.example,tcp://docker.example:2376"],
            directory: workspace.root, environment: environment
        ).wait()
        #expect(!trusted.stderr.contains("this manifest chose"), "\(trusted.stderr)")
        #expect(trusted.stderr.contains("runs the credential plugin"))
        #expect(!FileManager.default.fileExists(atPath: workspace.root + "/plugin-ran"))
    }
}
