import Foundation
import Hummingbird
import HummingbirdTLS
import RunwayHTTP
import RunwayTestSupport
import Testing

/// The libcurl client against real servers on loopback: plain, TLS (with a CA and a client
/// certificate made with openssl), a unix socket, a proxy; timeouts, streams and errors.
@Suite(.leavesNoProcesses, .leavesNoProcesses) struct HTTPClientTests {
    typealias Request = RunwayHTTP.HTTPRequest

    func echo(_ response: RunwayHTTP.HTTPResponse) throws -> Echo {
        try JSONDecoder().decode(Echo.self, from: Data(response.body))
    }

    @Test func sendsMethodHeadersAndBodyAndReusesItsConnection() async throws {
        try await TestServer.run { base in
            let client = HTTPClient()
            let first = try await client.send(Request(
                method: "PUT", url: base + "/echo?x=1", headers: [("X-Runway", "yes"), ("Content-Type", "text/plain")],
                body: Array("payload".utf8)))
            #expect(first.status == 200)
            let seen = try echo(first)
            #expect(seen.method == "PUT" && seen.uri == "/echo?x=1" && seen.body == "payload")
            #expect(seen.headers["x-runway"] == "yes")
            // Sequential requests go over the one pooled connection.
            var ports: Set<Int?> = [seen.peerPort]
            for _ in 0..<5 { ports.insert(try echo(try await client.send(Request(method: "GET", url: base + "/echo"))).peerPort) }
            #expect(ports.count == 1, "\(ports)")
            let missing = try await client.send(Request(method: "GET", url: base + "/status/404"))
            #expect(missing.status == 404 && missing.text == "no such thing")
        }
    }

    @Test func concurrentRequestsDoNotWaitForEachOther() async throws {
        let counters = ServerCounters()
        try await TestServer.run(counters: counters) { base in
            let client = HTTPClient()
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 { group.addTask { try await client.send(Request(method: "GET", url: base + "/slow")).status } }
                for try await status in group { #expect(status == 200) }
            }
        }
        // All six slow requests were at the server at once (more than this machine has cores).
        #expect(counters.maxInFlight.load(ordering: .relaxed) == 6)
    }

    @Test func aTotalTimeoutFailsWithMethodURLAndCause() async throws {
        try await TestServer.run { base in
            let request = Request(method: "GET", url: base + "/slow", timeout: .milliseconds(300))
            await #expect {
                _ = try await HTTPClient().send(request)
            } throws: { error in
                guard let error = error as? RunwayHTTP.HTTPError else { return false }
                return error.isUnreachable && "\(error)".hasPrefix("GET \(base)/slow: ") && "\(error)".contains("timed out")
            }
        }
    }

    @Test func aRefusedConnectionNamesHostAndCause() async throws {
        let refusing = RefusingPort()
        let port = refusing.port
        defer { withExtendedLifetime(refusing) {} }
        await #expect {
            _ = try await HTTPClient().send(Request(method: "POST", url: "http://127.0.0.1:\(port)/v1/x"))
        } throws: { error in
            guard let error = error as? RunwayHTTP.HTTPError else { return false }
            return error.isUnreachable && "\(error)".hasPrefix("POST http://127.0.0.1:\(port)/v1/x: ")
                && "\(error)".contains("onnect")
        }
    }

    @Test func streamsABodyChunkByChunk() async throws {
        try await TestServer.run { base in
            let response = try await HTTPClient().stream(Request(method: "GET", url: base + "/stream"))
            #expect(response.status == 200)
            var text = ""
            var chunks = 0
            for try await chunk in response.body {
                chunks += 1
                text += String(decoding: chunk, as: UTF8.self)
            }
            #expect(text == "one\ntwo\nthree\n")
            #expect(chunks >= 3, "the words arrive as they are written, 100 ms apart")
        }
    }

    @Test func abandoningAStreamEndsTheTransfer() async throws {
        let counters = ServerCounters()
        try await TestServer.run(counters: counters) { base in
            let client = HTTPClient()
            let response = try await client.stream(Request(method: "GET", url: base + "/forever"))
            var iterator = response.body.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first.map { String(decoding: $0, as: UTF8.self) } == "first\n")
            // The reading task is cancelled: that ends the stream, and the transfer with it (the
            // server would otherwise write for a minute): the server sees its client go.
            let reader = Task {
                var rest = iterator
                while try await rest.next() != nil {}
            }
            try await Task.sleep(for: .milliseconds(200))
            reader.cancel()
            _ = await reader.result
            #expect(await RunningCommand.until { counters.abandonedStreams.load(ordering: .relaxed) == 1 })
            // The client still works afterwards.
            #expect(try await client.send(Request(method: "GET", url: base + "/echo")).status == 200)
        }
    }

    @Test func talksOverAUnixSocket() async throws {
        let scratch = TemporaryDirectory()
        let socket = scratch.path + "/api.sock"
        try await TestServer.run(address: .unixDomainSocket(path: socket)) { _ in
            var configuration = HTTPClient.Configuration()
            configuration.unixSocket = socket
            let response = try await HTTPClient(configuration: configuration).send(Request(method: "GET", url: "http://docker/echo"))
            #expect(response.status == 200)
            #expect(try echo(response).authority == "docker")
        }
        var configuration = HTTPClient.Configuration()
        configuration.unixSocket = scratch.path + "/missing.sock"
        await #expect {
            _ = try await HTTPClient(configuration: configuration).send(Request(method: "GET", url: "http://docker/_ping"))
        } throws: { error in
            "\(error)".hasPrefix("GET http://docker/_ping (via unix socket \(scratch.path)/missing.sock): ")
        }
    }

    @Test func verifiesTLSWithTheGivenCAAndPresentsAClientCertificate() async throws {
        let scratch = TemporaryDirectory()
        let certificates = try await TestCertificates(in: scratch.path)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.keyFile, format: .pem)))
        tls.trustRoots = .file(certificates.caFile)
        tls.certificateVerification = .noHostnameVerification  // the server requires a client certificate
        try await TestServer.run(tls: tls) { base in
            func client(_ options: TLSOptions) -> HTTPClient {
                var configuration = HTTPClient.Configuration()
                configuration.tls = options
                return HTTPClient(configuration: configuration)
            }
            let echoURL = base + "/echo"
            let withFiles = TLSOptions(
                certificateAuthority: .file(certificates.caFile), clientCertificate: .file(certificates.clientCertificateFile),
                clientKey: .file(certificates.clientKeyFile))
            #expect(try await client(withFiles).send(Request(method: "GET", url: echoURL)).status == 200)
            // The same from PEM text in memory.
            func pem(_ path: String) throws -> TLSOptions.Source { .pem(try String(contentsOfFile: path, encoding: .utf8)) }
            let withPEM = TLSOptions(
                certificateAuthority: try pem(certificates.caFile), clientCertificate: try pem(certificates.clientCertificateFile),
                clientKey: try pem(certificates.clientKeyFile))
            #expect(try await client(withPEM).send(Request(method: "GET", url: echoURL)).status == 200)
            // An unknown CA is refused as a certificate problem…
            await #expect {
                _ = try await client(TLSOptions(
                    certificateAuthority: .file(certificates.otherCAFile), clientCertificate: .file(certificates.clientCertificateFile),
                    clientKey: .file(certificates.clientKeyFile))).send(Request(method: "GET", url: echoURL))
            } throws: { ($0 as? RunwayHTTP.HTTPError)?.isCertificateProblem == true }
            // …unless verification is turned off on purpose.
            let insecure = TLSOptions(
                clientCertificate: .file(certificates.clientCertificateFile), clientKey: .file(certificates.clientKeyFile),
                insecure: true)
            #expect(try await client(insecure).send(Request(method: "GET", url: echoURL)).status == 200)
            // Without a client certificate the server ends the handshake.
            await #expect(throws: RunwayHTTP.HTTPError.self) {
                _ = try await client(TLSOptions(certificateAuthority: .file(certificates.caFile))).send(Request(method: "GET", url: echoURL))
            }
        }
    }

    @Test func proxiesComeFromTheUsualVariables() async throws {
        let proxies = Proxies.fromEnvironment([
            "http_proxy": "http://proxy:3128", "HTTP_PROXY": "http://from-a-cgi-header:1", "HTTPS_PROXY": "http://secure:3129",
            "NO_PROXY": "localhost,.internal",
        ])
        #expect(proxies == Proxies(http: "http://proxy:3128", https: "http://secure:3129", noProxy: "localhost,.internal"))
        #expect(Proxies.fromEnvironment(["ALL_PROXY": "http://all:1"]) == Proxies(http: "http://all:1", https: "http://all:1"))
        #expect(Proxies.fromEnvironment(["HTTP_PROXY": "http://ignored:1"]) == Proxies())

        try await TestServer.run { proxy in
            var configuration = HTTPClient.Configuration()
            configuration.proxies = Proxies(http: proxy)
            let client = HTTPClient(configuration: configuration)
            // The proxy (our test server) receives the absolute URL of a host that does not exist.
            let response = try await client.send(Request(method: "GET", url: "http://runway.invalid/path?q=1"))
            #expect(response.text == "proxied runway.invalid/path?q=1")
            // no_proxy hosts go direct, here to the same server by its address.
            configuration.proxies = Proxies(http: "http://127.0.0.1:1", noProxy: "127.0.0.1")
            let direct = try await HTTPClient(configuration: configuration).send(Request(method: "GET", url: proxy + "/echo"))
            #expect(direct.status == 200)
        }
    }
}
