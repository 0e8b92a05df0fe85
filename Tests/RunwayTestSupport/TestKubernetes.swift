import Foundation
import RunwayHTTP

/// The tests' Kubernetes API server (Tests/Servers/kube_apiserver.py, started by scripts/test.sh):
/// its admin kubeconfig is `RUNWAY_TEST_KUBECONFIG`. Each test works in a namespace of its own
/// (suites run in parallel; the server is never reset).
public enum TestKubernetes {
    public static let kubeconfig: String? = ProcessInfo.processInfo.environment["RUNWAY_TEST_KUBECONFIG"].flatMap { $0.isEmpty ? nil : $0 }

    /// Tests against it run when it is there, and always in CI (where its absence fails them).
    public static let shouldRun = kubeconfig != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// The image the test node "has" that runs the Runway runner (the debug build's `runway runner`).
    public static let runnerImage = "runway-runner:dev"
    /// An image the node has that runs whatever command the container names.
    public static let shellImage = "busybox:1.36"
    /// An image whose container sleeps for two minutes and never connects.
    public static let silentImage = "silent:1"

    struct Missing: Error, CustomStringConvertible {
        var description: String { "no test Kubernetes: RUNWAY_TEST_KUBECONFIG is not set (scripts/test.sh starts one; CI must run these tests)" }
    }

    public typealias Failure = TestFailure

    /// The admin's view of the server: its URL, CA and token, read from the kubeconfig.
    public struct Cluster: Sendable {
        public let kubeconfig: String
        public let url: String
        public let token: String
        let http: HTTPClient

        /// A fresh namespace for one test.
        public func namespace(_ prefix: String = "t") async throws -> String {
            let name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
            _ = try await request("POST", "/api/v1/namespaces", json: #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"\#(name)"}}"#)
            return name
        }

        /// One API call as the admin; the body of a 2xx answer.
        @discardableResult
        public func request(_ method: String, _ path: String, json: String? = nil, token: String? = nil, expect: Set<Int> = [200, 201])
            async throws -> String
        {
            var headers = [("Authorization", "Bearer \(token ?? self.token)")]
            if json != nil { headers.append(("Content-Type", "application/json")) }
            let response = try await http.send(HTTPRequest(method: method, url: url + path, headers: headers, body: json.map { Array($0.utf8) }))
            guard expect.contains(response.status) else {
                throw Failure(description: "\(method) \(path) answered HTTP \(response.status): \(response.text.prefix(500))")
            }
            return response.text
        }

        /// A JSON answer, decoded loosely.
        public func object(_ path: String) async throws -> [String: Any] {
            let text = try await request("GET", path)
            guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw Failure(description: "GET \(path) is not a JSON object")
            }
            return object
        }

        /// Names of the items of a list (`/apis/batch/v1/namespaces/x/jobs`).
        public func names(_ path: String) async throws -> [String] {
            let items = try await object(path)["items"] as? [[String: Any]] ?? []
            return items.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }.sorted()
        }

        /// Adds a fault: `status` answers (with `retryAfter`) or a `delay` (before handling, or
        /// `after` it), for `count` matching requests (`namespace`, `verb`, `resource`).
        public func fault(_ json: String) async throws {
            try await request("POST", "/_test/faults", json: json)
        }

        /// A user known by `token` with these RBAC rules (JSON list of PolicyRules).
        public func user(name: String, token: String, rules: String) async throws {
            try await request("POST", "/_test/users", json: #"{"name":"\#(name)","token":"\#(token)","rules":\#(rules)}"#)
        }

        /// The requests the server received in `namespace` (verb, resource, name, query, status).
        public func requests(namespace: String) async throws -> [[String: Any]] {
            let object = try JSONSerialization.jsonObject(with: Data(try await request("GET", "/_test/requests?namespace=\(namespace)").utf8))
            return (object as? [String: Any])?["requests"] as? [[String: Any]] ?? []
        }

        /// A kubeconfig like the admin's but authenticating with `token`.
        public func kubeconfig(token: String, in directory: String) throws -> String {
            let text = try String(contentsOfFile: kubeconfig, encoding: .utf8)
            let path = directory + "/kubeconfig-\(UInt32.random(in: 0...UInt32.max))"
            try text.replacingOccurrences(of: self.token, with: token).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    public static func cluster() throws -> Cluster {
        guard let kubeconfig else { throw Missing() }
        let data = try Data(contentsOf: URL(fileURLWithPath: kubeconfig))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let cluster = ((root["clusters"] as? [[String: Any]])?.first?["cluster"]) as? [String: Any],
            let server = cluster["server"] as? String, let caData = cluster["certificate-authority-data"] as? String,
            let ca = Data(base64Encoded: caData),
            let token = (((root["users"] as? [[String: Any]])?.first?["user"]) as? [String: Any])?["token"] as? String
        else { throw Failure(description: "the test kubeconfig \(kubeconfig) is not the server's") }
        var configuration = HTTPClient.Configuration()
        configuration.tls = TLSOptions(certificateAuthority: .pem(String(decoding: ca, as: UTF8.self)))
        return Cluster(kubeconfig: kubeconfig, url: server, token: token, http: HTTPClient(configuration: configuration))
    }
}
