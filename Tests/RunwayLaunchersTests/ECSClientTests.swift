import Foundation
import Hummingbird
import RunwayAWS
import RunwayHTTP
import RunwayTestSupport
import Synchronization
import Testing

@testable import RunwayLaunchers

/// The ECS API client: signed JSON 1.1 calls, retries on throttling, AWS error codes.
@Suite(.leavesNoProcesses, .leavesNoProcesses) struct ECSClientTests {
    let credentials = AWSCredentialChain(environment: ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"])
    var fastRetry: ECSClient.RetryPolicy {
        var policy = ECSClient.RetryPolicy()
        policy.base = .milliseconds(1)
        return policy
    }

    struct Empty: Codable {}
    struct Clusters: Codable { var clusterArns: [String] }

    @Test func throttlingIsRetriedAndOtherErrorsAreNot() async throws {
        let calls = Atomic<Int>(0)
        let targets = Mutex<[String]>([])
        let server = CallbackResponder<BasicRequestContext> { request, _ in
            let call = calls.add(1, ordering: .relaxed).newValue
            let target = request.headers.first { $0.name.canonicalName == "x-amz-target" }?.value ?? ""
            targets.withLock { $0.append(target) }
            #expect(request.headers[.authorization]?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDTEST/") == true)
            if target.hasSuffix(".ListClusters"), call <= 2 {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: #"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)))
            }
            if target.hasSuffix(".DescribeClusters") {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(
                    string: #"{"__type":"com.amazonaws.ecs#ClusterNotFoundException","message":"Cluster not found."}"#)))
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"clusterArns":["arn:aws:ecs:us-east-1:1:cluster/a"]}"#)))
        }
        try await LoopbackServer.run(server) { base in
            let client = ECSClient(endpoint: base, region: "us-east-1", credentials: credentials, retry: fastRetry)
            let clusters = try await client.call("ListClusters", Empty(), as: Clusters.self)
            #expect(clusters.clusterArns == ["arn:aws:ecs:us-east-1:1:cluster/a"], "answered on the third try")
            await #expect {
                _ = try await client.call("DescribeClusters", Empty(), as: Clusters.self)
            } throws: { error in
                guard let error = error as? ECSError else { return false }
                return error.code == "ClusterNotFoundException" && !error.isRetryable
                    && "\(error)" == "ECS DescribeClusters: ClusterNotFoundException: Cluster not found."
            }
        }
        #expect(targets.withLock { $0 }.filter { $0.hasSuffix(".ListClusters") }.count == 3)
        #expect(targets.withLock { $0 }.filter { $0.hasSuffix(".DescribeClusters") }.count == 1, "not retried")
    }

    @Test(.enabled(if: TestMoto.shouldRun, "no moto server (RUNWAY_TEST_MOTO_URL unset)"))
    func signedCallsReachMoto() async throws {
        let url = try TestMoto.requireURL()
        let client = ECSClient(endpoint: url, region: "us-east-1", credentials: credentials, retry: fastRetry)
        struct Create: Codable { var clusterName: String }
        struct Created: Codable { struct Cluster: Codable { var clusterArn: String }; var cluster: Cluster }
        let name = "runway-client-\(UInt32.random(in: 0...UInt32.max))"
        let created = try await client.call("CreateCluster", Create(clusterName: name), as: Created.self)
        #expect(created.cluster.clusterArn.hasSuffix(":cluster/\(name)"))
        let clusters = try await client.call("ListClusters", Empty(), as: Clusters.self)
        #expect(clusters.clusterArns.contains(created.cluster.clusterArn))
    }
}
