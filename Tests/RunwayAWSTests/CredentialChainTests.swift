import Foundation
import Hummingbird
import RunwayAWS
import RunwayTestSupport
import Synchronization
import Testing

/// The credentials chain in the AWS SDKs' order, with STS and the container endpoint played
/// by loopback servers.
@Suite struct CredentialChainTests {
    let scratch = TemporaryDirectory()

    func chain(_ environment: [String: String]) -> AWSCredentialChain {
        AWSCredentialChain(environment: ["HOME": scratch.path].merging(environment) { $1 })
    }

    @Test func theEnvironmentComesFirst() async throws {
        let file = try scratch.write("credentials", "[default]\naws_access_key_id = FROMFILE\naws_secret_access_key = s\n")
        let credentials = try await chain([
            "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
            "AWS_SHARED_CREDENTIALS_FILE": file,
        ]).credentials()
        #expect(credentials == AWSCredentials(accessKeyID: "AKIAENV", secretAccessKey: "secret", sessionToken: "token"))
        await #expect {
            _ = try await chain(["AWS_ACCESS_KEY_ID": "AKIAENV"]).credentials()
        } throws: { "\($0)" == "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together" }
    }

    @Test func theSharedFileByProfile() async throws {
        let file = try scratch.write("creds.ini", """
            # comment
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key = default-secret

            [profile ci]
            AWS_ACCESS_KEY_ID = AKIACI
            aws_secret_access_key=ci-secret
            aws_session_token = ci-token
            """)
        #expect(try await chain(["AWS_SHARED_CREDENTIALS_FILE": file]).credentials().accessKeyID == "AKIADEFAULT")
        let ci = try await chain(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "ci"]).credentials()
        #expect(ci == AWSCredentials(accessKeyID: "AKIACI", secretAccessKey: "ci-secret", sessionToken: "ci-token"))
        await #expect {
            _ = try await chain(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "prod"]).credentials()
        } throws: { "\($0)".contains("AWS_PROFILE 'prod' is not in \(file) (profiles: ci, default)") }
        try scratch.write(".aws/credentials", "[default]\naws_access_key_id = AKIAHOME\naws_secret_access_key = s\n")
        #expect(try await chain([:]).credentials().accessKeyID == "AKIAHOME", "~/.aws/credentials by default")
    }

    @Test func nothingAnywhereSaysWhatWasTried() async throws {
        await #expect {
            _ = try await chain([:]).credentials()
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("no AWS credentials found; tried: environment") && text.contains("web identity")
                && text.contains("shared credentials file") && text.contains("container endpoint")
        }
    }

    @Test func webIdentityAssumesTheRoleThroughSTS() async throws {
        let token = try scratch.write("token", "eyJ.web.identity\n")
        let seen = Mutex<[String]>([])
        let sts = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 1 << 16))
            seen.withLock { $0.append(body) }
            let xml = """
                <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                  <AssumeRoleWithWebIdentityResult><Credentials>
                    <AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>sts/secret+&amp;</SecretAccessKey>
                    <SessionToken>sts-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>
                  </Credentials></AssumeRoleWithWebIdentityResult>
                </AssumeRoleWithWebIdentityResponse>
                """
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: xml)))
        }
        try await LoopbackServer.run(sts) { base in
            let credentials = try await chain([
                "AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/runway",
                "AWS_ROLE_SESSION_NAME": "controller", "AWS_ENDPOINT_URL_STS": base,
            ]).credentials()
            #expect(credentials.accessKeyID == "ASIASTS" && credentials.secretAccessKey == "sts/secret+&")
            #expect(credentials.sessionToken == "sts-token" && credentials.expiration == Date(timeIntervalSince1970: 4_070_908_800))
        }
        let body = try #require(seen.withLock { $0.first })
        #expect(body.contains("Action=AssumeRoleWithWebIdentity") && body.contains("WebIdentityToken=eyJ.web.identity"))
        #expect(body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Frunway") && body.contains("RoleSessionName=controller"))
    }

    @Test func theContainerEndpointWithItsTokenAndARefreshBeforeExpiry() async throws {
        let calls = Atomic<Int>(0)
        let authorizations = Mutex<[String]>([])
        let endpoint = CallbackResponder<BasicRequestContext> { request, _ in
            let call = calls.add(1, ordering: .relaxed).newValue
            authorizations.withLock { $0.append(request.headers[.authorization] ?? "") }
            // Valid for 10 minutes from a fixed time; the chain refreshes 5 minutes early.
            let json = #"{"AccessKeyId":"ASIACONTAINER\#(call)","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-01T00:10:00Z"}"#
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        let tokenFile = try scratch.write("auth-token", "Bearer container-token\n")
        try await LoopbackServer.run(endpoint) { base in
            // The endpoint is this test process's own server: on a loaded machine it can take far
            // longer than a real one's 5 s to get a thread.
            var configuration = AWSCredentialChain.Configuration()
            configuration.containerEndpointTimeout = .seconds(120)
            let chain = AWSCredentialChain(
                environment: ["HOME": scratch.path, "AWS_CONTAINER_CREDENTIALS_FULL_URI": base + "/creds",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile],
                configuration: configuration)
            let start = Date(timeIntervalSince1970: 1_893_456_000)  // 2030-01-01T00:00:00Z
            let first = try await chain.credentials(now: start)
            let cached = try await chain.credentials(now: start.addingTimeInterval(240))
            let refreshed = try await chain.credentials(now: start.addingTimeInterval(301))
            #expect(first.accessKeyID == "ASIACONTAINER1")
            #expect(cached.accessKeyID == "ASIACONTAINER1", "still fresh: cached")
            #expect(refreshed.accessKeyID == "ASIACONTAINER2", "within 5 minutes of expiry: fetched again")
        }
        #expect(authorizations.withLock { $0 } == ["Bearer container-token", "Bearer container-token"])
    }
}
