import Foundation
import Hummingbird
import HummingbirdTLS
import RunwayTestSupport
import RunwayWire
import Testing

/// The runner's own HTTP/1.1 client against the same loopback servers: bodies by length and by
/// chunks, errors with their causes, its deadline, and TLS with the CA given or refused.
@Suite(.leavesNoProcesses) struct WireClientTests {
    func post(_ client: WireClient, _ url: String, body: String = "", timeout: Duration = .seconds(10)) async throws -> WireResponse {
        try await client.send(method: "POST", url: url, headers: [("X-Runway", "yes")], body: Array(body.utf8), timeout: timeout)
    }

    @Test func sendsMethodHeadersAndBodyAndReadsEveryKindOfBody() async throws {
        try await TestServer.run { base in
            let client = WireClient()
            let first = try await post(client, base + "/echo?x=1&y=a%20b", body: "payload")
            #expect(first.status == 200)
            let seen = try JSONDecoder().decode(Echo.self, from: Data(first.body))
            #expect(seen.method == "POST" && seen.uri == "/echo?x=1&y=a%20b" && seen.body == "payload" && seen.headers["x-runway"] == "yes")
            #expect(seen.authority == base.replacingOccurrences(of: "http://", with: ""), "the Host header names host and port")
            let missing = try await post(client, base + "/status/404")
            #expect(missing.status == 404 && missing.text == "no such thing")
            let streamed = try await post(client, base + "/stream")
            #expect(streamed.status == 200 && streamed.text == "one\ntwo\nthree\n", "a chunked body: \(streamed.headers)")
        }
    }

    @Test func aDeadlineAndARefusedConnectionFailWithTheirCauses() async throws {
        _ = try await TestServer.run { base in
            await #expect {
                _ = try await post(WireClient(), base + "/slow", timeout: .milliseconds(300))
            } throws: { error in
                guard let error = error as? WireError else { return false }
                return error.isTimeout && "\(error)".hasPrefix("POST \(base)/slow: ") && "\(error)".contains("timed out")
            }
        }
        let refusing = RefusingPort()  // bound, never listening: connections are refused
        let port = refusing.port
        defer { withExtendedLifetime(refusing) {} }
        await #expect {
            _ = try await post(WireClient(), "http://127.0.0.1:\(port)/x")
        } throws: { error in
            "\(error)".contains("cannot connect to 127.0.0.1 port \(port): Connection refused") && (error as? WireError)?.isTimeout == false
        }
        await #expect { _ = try await post(WireClient(), "ftp://127.0.0.1/x") } throws: { "\($0)".contains("not an http or https URL") }
    }

    @Test func verifiesTheServersCertificateAgainstTheGivenCA() async throws {
        let scratch = TemporaryDirectory()
        let certificates = try await TestCertificates(in: scratch.path)
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.keyFile, format: .pem)))
        try await TestServer.run(tls: tls) { base in
            let secure = base.replacingOccurrences(of: "http://", with: "https://")
            #expect(try await post(WireClient(trust: .file(certificates.caFile)), secure + "/echo", body: "x").status == 200)
            let pem = try String(contentsOfFile: certificates.caFile, encoding: .utf8)
            #expect(try await post(WireClient(trust: .pem(pem)), secure + "/echo").status == 200, "the CA as PEM text")
            // The certificate names 127.0.0.1 and localhost; by either name it is accepted.
            #expect(try await post(WireClient(trust: .file(certificates.caFile)), secure.replacingOccurrences(of: "127.0.0.1", with: "localhost") + "/echo").status == 200)
            await #expect {
                _ = try await post(WireClient(trust: .file(certificates.otherCAFile)), secure + "/echo")
            } throws: { ($0 as? WireError)?.isCertificateProblem == true && "\($0)".contains("not trusted") }
            await #expect {
                _ = try await post(WireClient(), secure + "/echo")
            } throws: { ($0 as? WireError)?.isCertificateProblem == true }
            await #expect {
                _ = try await post(WireClient(trust: .file(scratch.path + "/missing.pem")), secure + "/echo")
            } throws: { ($0 as? WireError)?.isCertificateProblem == true && "\($0)".contains("cannot read the CA certificates") }
        }
    }
}
