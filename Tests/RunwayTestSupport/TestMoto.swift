import Foundation
import RunwayAWS
import RunwayHTTP

/// The moto server the test command started (`RUNWAY_TEST_MOTO_URL`, see scripts/test.sh):
/// AWS's ECS and EC2 APIs on loopback.
public enum TestMoto {
    public static let url: String? = ProcessInfo.processInfo.environment["RUNWAY_TEST_MOTO_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// Tests against moto run when it is there, and always in CI (where its absence fails them).
    public static let shouldRun = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// Fixed test credentials and region (moto accepts any signed request).
    /// The controller's own AWS settings for moto: its credentials, region and (the endpoint
    /// manifests name, so the controller's credentials may sign for it) endpoint.
    public static let environment = ["AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1"]
        .merging(url.map { ["AWS_ENDPOINT_URL_ECS": $0] } ?? [:]) { $1 }

    public static func requireURL() throws -> String {
        guard let url else { throw Missing() }
        return url
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String { "no moto server: RUNWAY_TEST_MOTO_URL is not set (scripts/test.sh starts one; CI must run these tests)" }
    }

    /// A cluster of its own, a subnet and a security group, with tasks that stay RUNNING until
    /// they are stopped (moto otherwise moves them on at every describe). moto is not reset:
    /// suites run in parallel, each in its own cluster.
    public struct ECSWorld: Sendable {
        public let url: String
        public let cluster: String
        public let subnet: String
        public let securityGroup: String

        public init(url: String, cluster: String, subnet: String, securityGroup: String) {
            self.url = url
            self.cluster = cluster
            self.subnet = subnet
            self.securityGroup = securityGroup
        }

        /// The ecs profile config for this world, as YAML flow text.
        public var configYAML: String {
            "{cluster: \(cluster), region: us-east-1, endpoint: \"\(url)\", subnets: [\(subnet)], securityGroups: [\(securityGroup)], memory: 512, cpu: 256}"
        }
    }

    public static func ecsWorld() async throws -> ECSWorld {
        let url = try requireURL()
        let http = HTTPClient()
        let transition = #"{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000000}}"#
        _ = try await http.send(HTTPRequest(
            method: "POST", url: url + "/moto-api/state-manager/set-transition", body: Array(transition.utf8)))
        let cluster = "runners-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await call(url, service: "ecs", target: "AmazonEC2ContainerServiceV20141113.CreateCluster", json: #"{"clusterName":"\#(cluster)"}"#)
        let vpc = try element("vpcId", in: try await ec2(url, ["Action": "CreateVpc", "CidrBlock": "10.0.0.0/16"]))
        // moto names a task's network interface only in a VPC with DNS hostnames (else RunTask fails inside moto).
        _ = try await ec2(url, ["Action": "ModifyVpcAttribute", "VpcId": vpc, "EnableDnsHostnames.Value": "true"])
        let subnet = try element("subnetId", in: try await ec2(url, ["Action": "CreateSubnet", "VpcId": vpc, "CidrBlock": "10.0.1.0/24"]))
        let group = try element("groupId", in: try await ec2(
            url, ["Action": "CreateSecurityGroup", "VpcId": vpc, "GroupName": "runners", "GroupDescription": "runway runners"]))
        return ECSWorld(url: url, cluster: cluster, subnet: subnet, securityGroup: group)
    }

    /// A signed ECS (JSON 1.1) call; the answer's body.
    public static func call(_ url: String, service: String = "ecs", target: String, json: String) async throws -> String {
        try await signed(url, service: service, HTTPRequest(
            method: "POST", url: url + "/",
            headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target)], body: Array(json.utf8)))
    }

    /// A signed EC2 Query API call; the answer's body.
    public static func ec2(_ url: String, _ parameters: [String: String]) async throws -> String {
        let body = parameters.merging(["Version": "2016-11-15"]) { $1 }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(SigV4Signer.encode($0.value))" }.joined(separator: "&")
        return try await signed(url, service: "ec2", HTTPRequest(
            method: "POST", url: url + "/", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8)))
    }

    private static func signed(_ url: String, service: String, _ request: HTTPRequest) async throws -> String {
        let credentials = AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "secret")
        let response = try await HTTPClient().send(SigV4Signer(region: "us-east-1", service: service).sign(request, credentials: credentials, date: Date()))
        guard response.status == 200 else { throw Failure(message: "moto answered HTTP \(response.status): \(response.text.prefix(300))") }
        return response.text
    }

    static func element(_ name: String, in text: String) throws -> String {
        guard let value = AWSCredentialChain.element(name, in: text) else { throw Failure(message: "no <\(name)> in \(text.prefix(300))") }
        return value
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
