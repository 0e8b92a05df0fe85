import Foundation
import RunwayHTTP
import RunwayModel
import RunwayTestSupport
import Testing

/// The runner API over TLS with a CA the test makes with openssl; runners trust it through
/// RUNWAY_SERVER_CA; the CLI reads a controller remotely with RUNWAY_API_TOKEN.
@Suite(.leavesNoProcesses, .serialized) struct TLSTests {
    func client(trusting ca: String?) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.tls.certificateAuthority = ca.map(TLSOptions.Source.file)
        return HTTPClient(configuration: configuration)
    }

    @Test func theControllerServesTLSItsRunnersTrustAndTheCLIReadsIt() async throws {
        let workspace = try Workspace()
        let certificates = try await TestCertificates(in: workspace.root)
        let tokenFile = try workspace.scratch.write("api-token", "t0ken-for-reads\n")
        try workspace.write("profile.yaml", workspace.profile())
        try workspace.write("hello.yaml", workspace.job("hello", "echo hello over tls"))
        let (controller, port) = try await RunningCommand.serving(directory: workspace.root) { port in
            ["controller", workspace.manifests, "--state-dir", workspace.state, "--listen", "127.0.0.1:\(port)",
             "--tls-cert", certificates.certificateFile, "--tls-key", certificates.keyFile, "--tls-ca", certificates.caFile,
             "--api-token-file", tokenFile]
        }
        let base = "https://127.0.0.1:\(port)"
        defer { kill(controller.pid, SIGKILL) }

        // The runner connected over TLS (it could only have claimed its job through the API).
        #expect(await RunningCommand.until {
            (try? await workspace.records()["hello"]?.state) == .succeeded
        }, "\(controller.stderr)")
        let trusted = try await client(trusting: certificates.caFile).send(HTTPRequest(method: "GET", url: base + "/healthz"))
        #expect(trusted.status == 200)

        // Another CA is not trusted: the error names the request and the certificate problem.
        await #expect {
            _ = try await client(trusting: certificates.otherCAFile).send(HTTPRequest(method: "GET", url: base + "/healthz"))
        } throws: { error in
            guard let error = error as? HTTPError else { return false }
            return error.isCertificateProblem && "\(error)".contains("GET \(base)/healthz") && "\(error)".contains("certificate")
        }
        // TLS 1.1 is refused; 1.2 is taken (openssl's own client, the CA trusted).
        let old = try await RunningCommand.shell(
            "openssl s_client -connect 127.0.0.1:\(port) -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' -CAfile '\(certificates.caFile)' </dev/null 2>&1", directory: workspace.root)
        #expect(old.status != 0, "TLS 1.1 was accepted: \(old.stdout)")
        let current = try await RunningCommand.shell(
            "openssl s_client -connect 127.0.0.1:\(port) -tls1_2 -CAfile '\(certificates.caFile)' </dev/null 2>&1", directory: workspace.root)
        #expect(current.status == 0 && current.stdout.contains("Protocol  : TLSv1.2"), "\(current.stdout)")
        // Plain HTTP gets no answer from a TLS listener.
        await #expect(throws: HTTPError.self) {
            _ = try await client(trusting: nil).send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/healthz"))
        }

        // The CLI reads the running controller: with the token and the CA it sees the job…
        let remote = ["--server", base]
        let environment = ["RUNWAY_SERVER_CA": certificates.caFile, "RUNWAY_API_TOKEN": "t0ken-for-reads"]
        let status = try await RunwayExecutable.run(["status"] + remote, environment: environment)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("hello") && status.stdout.contains("succeeded"), "\(status.stdout)")
        let logs = try await RunwayExecutable.run(["logs", "hello"] + remote, environment: environment)
        #expect(logs.stdout == "hello over tls\n", "\(logs.stderr)")
        let explain = try await RunwayExecutable.run(["explain", "hello"] + remote, environment: environment)
        #expect(explain.stdout.hasPrefix("hello: succeeded on attempt 1"), "\(explain.stdout)")
        let json = try await RunwayExecutable.run(["status", "hello", "-o", "json"] + remote, environment: environment)
        #expect(json.stdout.contains("\"runner-connected\""), "\(json.stdout)")
        let missing = try await RunwayExecutable.run(["logs", "nobody"] + remote, environment: environment)
        #expect(missing.status == 1 && missing.stderr.contains("no attempt of job 'nobody' at \(base)"), "\(missing.stderr)")

        // …without the token it is refused with a message that says what to set…
        let noToken = try await RunwayExecutable.run(["status"] + remote, environment: ["RUNWAY_SERVER_CA": certificates.caFile])
        #expect(noToken.status == 1 && noToken.stderr.contains("set RUNWAY_API_TOKEN"), "\(noToken.stderr)")
        let wrongToken = try await RunwayExecutable.run(
            ["status"] + remote, environment: ["RUNWAY_SERVER_CA": certificates.caFile, "RUNWAY_API_TOKEN": "guess"])
        #expect(wrongToken.status == 1 && wrongToken.stderr.contains("is not its API token"), "\(wrongToken.stderr)")
        // …and without the CA it refuses the server's certificate.
        let noCA = try await RunwayExecutable.run(["status"] + remote, environment: ["RUNWAY_API_TOKEN": "t0ken-for-reads"])
        #expect(noCA.status == 1 && noCA.stderr.contains("certificate"), "\(noCA.stderr)")

        kill(controller.pid, SIGTERM)
        let result = await controller.wait(timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func aRunnerThatDoesNotTrustTheControllerGivesUpAtOnce() async throws {
        let workspace = try Workspace()
        let certificates = try await TestCertificates(in: workspace.root)
        try workspace.write("profile.yaml", workspace.profile(startTimeout: "2m"))
        try workspace.write("hello.yaml", workspace.job("hello", "echo never"))
        // No --tls-ca: tasks get no RUNWAY_SERVER_CA, and the system store does not know the test CA.
        let result = try await workspace.apply(extra: ["--tls-cert", certificates.certificateFile, "--tls-key", certificates.keyFile])
        #expect(result.status != 0)
        let record = try await workspace.records()["hello"]
        #expect(record?.state == .failed)
        // The runner stops trying on a certificate problem (exit code 3) instead of retrying until
        // the two-minute start timeout.
        #expect(record?.lastReason?.contains("task-lost (its task exited with code 3") == true, "\(record?.lastReason ?? "")")
        #expect(workspace.leftoverTasks.isEmpty)
    }

    @Test func badTLSFlagsAreRefusedWithTheirNames() async throws {
        let scratch = TemporaryDirectory()
        let notPEM = try scratch.write("not.pem", "hello\n")
        let onlyCert = try await RunwayExecutable.run(["apply", scratch.path, "--tls-cert", notPEM])
        #expect(onlyCert.status != 0 && onlyCert.stderr.contains("--tls-cert and --tls-key go together"), "\(onlyCert.stderr)")
        let unusable = try await RunwayExecutable.run(
            ["apply", scratch.path, "--state-dir", scratch.path + "/state", "--tls-cert", notPEM, "--tls-key", notPEM])
        #expect(unusable.status != 0 && unusable.stderr.contains("cannot use --tls-cert \(notPEM)"), "\(unusable.stderr)")
    }
}
