import Crypto
import Foundation
import RunwayHTTP

/// AWS credentials: an access key pair, and a session token for temporary ones.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-lived keys.
    public var expiration: Date?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }
}

/// AWS Signature Version 4 (the `Authorization` header form), as the AWS SDKs compute it:
/// canonical request → string to sign → signing key (HMAC chain over date, region, service)
/// → signature. Checked row by row against botocore's signer in the tests.
public struct SigV4Signer: Sendable {
    public var region: String
    public var service: String

    public init(region: String, service: String) {
        self.region = region
        self.service = service
    }

    /// Headers never signed (proxies and agents change them), as in botocore.
    static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// `request` with `X-Amz-Date`, `X-Amz-Security-Token` (temporary credentials) and
    /// `Authorization` added. `Host` is signed from the URL when the request has none.
    public func sign(_ request: HTTPRequest, credentials: AWSCredentials, date: Date) -> HTTPRequest {
        var signed = request
        let (amzDate, day) = Self.timestamps(date)
        signed.headers.removeAll { ["authorization", "x-amz-date", "x-amz-security-token"].contains($0.0.lowercased()) }
        signed.headers.append(("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken { signed.headers.append(("X-Amz-Security-Token", token)) }
        let parts = URLParts(signed.url)
        var headers = signed.headers
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { headers.append(("host", parts.host)) }

        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let payloadHash = Self.hex(SHA256.hash(data: signed.body ?? []))
        let canonicalRequest = [
            request.method.uppercased(), Self.canonicalPath(parts.path), Self.canonicalQuery(parts.query),
            canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(credentials, day: day)))
        signed.headers.append((
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        ))
        return signed
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    func signingKey(_ credentials: AWSCredentials, day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    static func timestamps(_ date: Date) -> (amzDate: String, day: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = String(format: "%04d%02d%02d", c.year!, c.month!, c.day!)
        return (day + String(format: "T%02d%02d%02dZ", c.hour!, c.minute!, c.second!), day)
    }

    /// Lowercased names, values trimmed with inner runs of spaces collapsed, sorted by name;
    /// repeated names joined with commas.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (text: String, signed: String) {
        var byName: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            guard !unsignedHeaders.contains(lower) else { continue }
            let trimmed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
            byName[lower, default: []].append(trimmed)
        }
        let names = byName.keys.sorted()
        let text = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        return (text, names.joined(separator: ";"))
    }

    /// The path as sent, with `.`/`..` and empty segments removed (a trailing `/` kept), then
    /// percent-encoded again (`%` becomes `%25`): the double encoding every service but S3 uses.
    static func canonicalPath(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        let trailing = path.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return "/" + segments.map { encode(String($0)) }.joined(separator: "/") + trailing
    }

    /// `key=value` pairs encoded and sorted by key, then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (encode(percentDecode(String(parts[0]))), encode(percentDecode(parts.count > 1 ? String(parts[1]) : "")))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Percent-encoding with only RFC 3986 unreserved characters left as they are (AWS's URI encoding).
    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func percentDecode(_ text: String) -> String { text.removingPercentEncoding ?? text }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

/// The host (with a non-default port), path and query of a URL, as signing needs them.
struct URLParts {
    var host = ""
    var path = "/"
    var query = ""

    init(_ url: String) {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        let hostEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        host = String(rest[..<hostEnd])
        if host.hasSuffix(":443") && url.hasPrefix("https://") { host.removeLast(4) }
        if host.hasSuffix(":80") && url.hasPrefix("http://") { host.removeLast(3) }
        rest = rest[hostEnd...]
        if let mark = rest.firstIndex(of: "?") {
            path = rest[..<mark].isEmpty ? "/" : String(rest[..<mark])
            query = String(rest[rest.index(after: mark)...])
        } else {
            path = rest.isEmpty ? "/" : String(rest)
        }
    }
}
