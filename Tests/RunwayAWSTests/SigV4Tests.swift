import Foundation
import RunwayAWS
import RunwayHTTP
import RunwayTestSupport
import Testing

/// SigV4 against botocore's own signer (scripts/sigv4-reference.py, same credentials, same
/// time), row by row, and against AWS's published examples.
@Suite(.leavesNoProcesses, .leavesNoProcesses) struct SigV4Tests {
    struct Row: Codable {
        var method: String
        var url: String
        var headers: [String: String] = [:]
        var body: String = ""
        var service = "ecs"
        var region = "us-east-1"
        var accessKeyID = "AKIDEXAMPLE"
        var secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        var sessionToken: String?
        var time: Double = 1_440_938_160  // 2015-08-30T12:36:00Z
    }

    struct Reference: Codable {
        var authorization: String
        var amzDate: String
    }

    static let ecsTarget = ["Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.RunTask"]

    static let rows: [Row] = [
        Row(method: "GET", url: "https://ecs.us-east-1.amazonaws.com/"),
        Row(method: "POST", url: "https://ecs.us-east-1.amazonaws.com/", headers: ecsTarget,
            body: #"{"cluster":"runners","taskDefinition":"runway-web:3","count":1}"#),
        Row(method: "POST", url: "https://ecs.eu-west-1.amazonaws.com/", headers: ecsTarget, body: "{}", region: "eu-west-1",
            sessionToken: "FQoGZXIvYXdzEJr//////////wEaDOp+token/with+slashes="),
        Row(method: "GET", url: "https://example.amazonaws.com/a/b/c", service: "service"),
        Row(method: "GET", url: "https://example.amazonaws.com/a/./b/../c/", service: "service"),
        Row(method: "GET", url: "https://example.amazonaws.com//double//slash", service: "service"),
        Row(method: "GET", url: "https://example.amazonaws.com/with%20space/and~tilde/%E2%82%AC", service: "service"),
        Row(method: "GET", url: "https://example.amazonaws.com/?b=2&a=1&a=0&empty=&c=%20x%2Fy", service: "service"),
        Row(method: "PUT", url: "https://example.amazonaws.com:8443/upload?Param1=value1",
            headers: ["My-Header1": "  value1  with   spaces  ", "my-header2": "\"quoted\"", "Content-Type": "text/plain"],
            body: "a body\nwith lines", service: "service"),
        Row(method: "DELETE", url: "http://127.0.0.1:5000/tasks/arn%3Aaws%3Aecs", headers: ["User-Agent": "runway/0.1"],
            service: "ecs", region: "ap-southeast-2"),
        Row(method: "POST", url: "https://sts.amazonaws.com/?Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
            headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr",
            service: "sts", time: 1_767_225_599),
        Row(method: "GET", url: "https://example.amazonaws.com/", headers: ["X-Amz-Date": "20000101T000000Z"], service: "service"),
    ]

    /// botocore's signatures for the table, computed by Python in this run.
    static func references() throws -> [Reference] {
        let scratch = TemporaryDirectory()
        let input = try scratch.write("rows.json", String(decoding: try JSONEncoder().encode(rows), as: UTF8.self))
        let result = try RunningCommand.shell("python3 \(Repository.path("scripts/sigv4-reference.py")) < \(input)", directory: scratch.path)
        guard result.status == 0 else {
            throw ReferenceError(message: "botocore is needed (scripts/install-test-deps.sh installs it): \(result.stderr)")
        }
        return try JSONDecoder().decode([Reference].self, from: Data(result.stdout.utf8))
    }

    struct ReferenceError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    func sign(_ row: Row) -> RunwayHTTP.HTTPRequest {
        let signer = SigV4Signer(region: row.region, service: row.service)
        let request = RunwayHTTP.HTTPRequest(
            method: row.method, url: row.url, headers: row.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            body: row.body.isEmpty ? nil : Array(row.body.utf8))
        let credentials = AWSCredentials(accessKeyID: row.accessKeyID, secretAccessKey: row.secretAccessKey, sessionToken: row.sessionToken)
        return signer.sign(request, credentials: credentials, date: Date(timeIntervalSince1970: row.time))
    }

    @Test func everyRowMatchesBotocore() throws {
        let references = try Self.references()
        try #require(references.count == Self.rows.count)
        for (row, reference) in zip(Self.rows, references) {
            let signed = sign(row)
            let authorization = signed.headers.last { $0.0 == "Authorization" }?.1
            #expect(authorization == reference.authorization, "\(row.method) \(row.url)")
            #expect(signed.headers.contains { $0 == ("X-Amz-Date", reference.amzDate) }, "\(row.url)")
            if let token = row.sessionToken {
                #expect(signed.headers.contains { $0 == ("X-Amz-Security-Token", token) })
            }
        }
    }

    /// AWS's SigV4 test suite: get-vanilla and post-vanilla (Host example.amazonaws.com,
    /// service `service`, 2015-08-30T12:36:00Z).
    @Test func awsPublishedExamples() {
        let get = sign(Row(method: "GET", url: "https://example.amazonaws.com/", service: "service"))
        #expect(get.headers.last?.1 == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        let post = sign(Row(method: "POST", url: "https://example.amazonaws.com/", service: "service"))
        #expect(post.headers.last?.1 == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }
}
