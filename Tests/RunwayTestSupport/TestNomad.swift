import Foundation
import RunwayHTTP
import RunwayModel

/// The tests' Nomad (Tests/Servers/nomad_apiserver.py, started by scripts/test.sh with regions
/// `global` and `eu`): `RUNWAY_TEST_NOMAD_DIR` holds its `url`, `ca.crt` and management `token`.
/// Its certificate names `server.global.nomad`, not 127.0.0.1, as a Nomad server's does.
public enum TestNomad {
    public static let directory: String? = ProcessInfo.processInfo.environment["RUNWAY_TEST_NOMAD_DIR"].flatMap { $0.isEmpty ? nil : $0 }

    /// Tests against it run when it is there, and always in CI (where its absence fails them).
    public static let shouldRun = directory != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    public typealias Failure = TestFailure

    /// Where the test server's token file lives: profiles read it with fromFile, so the
    /// controllers of the tests allow it (`--secret-dirs`), as an operator would.
    public static var secretDirectory: String { directory ?? "/nonexistent" }

    /// The policy of an operator who lets manifests read the test server's token file.
    public static var trust: TrustPolicy { TrustPolicy(secretDirectories: [secretDirectory]) }

    public struct Server: Sendable {
        /// `https://127.0.0.1:PORT`: what profiles name, with `tlsServerName: server.global.nomad`.
        public let url: String
        public let caCert: String
        public let token: String
        /// `https://localhost:PORT`, a name the certificate carries, for the tests' own calls.
        let adminURL: String
        let http: HTTPClient

        /// A profile config reaching this server in `namespace` (and `region`, if given).
        public func config(namespace: String, region: String? = nil, token: String? = nil, extra: String = "") -> String {
            "{address: \"\(url)\", tlsServerName: server.global.nomad, caCert: \"\(caCert)\", namespace: \(namespace)"
                + (region.map { ", region: \($0)" } ?? "") + ", token: {fromFile: \"\(token ?? tokenFile)\"}\(extra)}"
        }

        var tokenFile: String { (caCert as NSString).deletingLastPathComponent + "/token" }

        /// A fresh namespace for one test.
        public func namespace(_ prefix: String = "n") async throws -> String {
            let name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
            try await request("POST", "/v1/namespace/\(name)", json: #"{"Name":"\#(name)"}"#)
            return name
        }

        @discardableResult
        public func request(_ method: String, _ path: String, json: String? = nil, expect: Set<Int> = [200]) async throws -> String {
            var headers = [("X-Nomad-Token", token)]
            if json != nil { headers.append(("Content-Type", "application/json")) }
            let response = try await http.send(HTTPRequest(method: method, url: adminURL + path, headers: headers, body: json.map { Array($0.utf8) }))
            guard expect.contains(response.status) else {
                throw Failure(description: "\(method) \(path) answered HTTP \(response.status): \(response.text.prefix(500))")
            }
            return response.text
        }

        /// The requests received in `namespace`: method, path, region, namespace, status.
        public func requests(namespace: String) async throws -> [[String: Any]] {
            let object = try JSONSerialization.jsonObject(with: Data(try await request("GET", "/_test/requests?namespace=\(namespace)").utf8))
            return (object as? [String: Any])?["requests"] as? [[String: Any]] ?? []
        }

        /// IDs of the jobs in `namespace` of `region`.
        public func jobs(namespace: String, region: String = "global") async throws -> [String] {
            let list = try JSONSerialization.jsonObject(with: Data(try await request("GET", "/v1/jobs?namespace=\(namespace)&region=\(region)").utf8))
            return ((list as? [[String: Any]]) ?? []).compactMap { $0["ID"] as? String }.sorted()
        }
    }

    public static func server() throws -> Server {
        guard let directory else { throw Failure(description: "no test Nomad: RUNWAY_TEST_NOMAD_DIR is not set (scripts/test.sh starts one; CI must run these tests)") }
        let url = try String(contentsOfFile: directory + "/url", encoding: .utf8)
        let token = try String(contentsOfFile: directory + "/token", encoding: .utf8)
        var configuration = HTTPClient.Configuration()
        configuration.tls = TLSOptions(certificateAuthority: .file(directory + "/ca.crt"))
        return Server(
            url: url, caCert: directory + "/ca.crt", token: token, adminURL: url.replacingOccurrences(of: "127.0.0.1", with: "localhost"),
            http: HTTPClient(configuration: configuration))
    }
}
