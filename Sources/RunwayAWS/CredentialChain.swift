import Foundation
import RunwayHTTP
import Synchronization

/// AWS credentials from the places the AWS SDKs look, in their order:
/// 1. the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`);
/// 2. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` → STS
///    `AssumeRoleWithWebIdentity`, how a pod on EKS gets credentials);
/// 3. the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`;
///    profile `AWS_PROFILE`, else `default`);
/// 4. the ECS container endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`, with
///    `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`).
/// Temporary credentials are cached and fetched again `refreshMargin` before they expire.
public final class AWSCredentialChain: Sendable {
    public struct Configuration: Sendable {
        /// Fetch new temporary credentials this long before they expire. Default 5 minutes.
        public var refreshMargin: Duration = .seconds(300)
        /// The region whose STS endpoint web identity uses (`AWS_REGION`…); default the global one.
        public var region: String?
        /// Longest the container credentials endpoint may take to answer. Default 5 seconds.
        public var containerEndpointTimeout: Duration = .seconds(5)

        public init() {}
    }

    let environment: [String: String]
    let configuration: Configuration
    let http: HTTPClient
    /// The last credentials and where they came from; the mutex guards them.
    private let cached = Mutex<AWSCredentials?>(nil)

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, configuration: Configuration = Configuration(),
        http: HTTPClient = HTTPClient())
    {
        self.environment = environment
        self.configuration = configuration
        self.http = http
    }

    /// Credentials valid for at least `refreshMargin` (or long-lived ones).
    /// - Throws: ``AWSCredentialError`` naming every source tried when none has credentials.
    public func credentials(now: Date = Date()) async throws -> AWSCredentials {
        if let current = cached.withLock({ $0 }), isFresh(current, now: now) { return current }
        let fresh = try await resolve()
        cached.withLock { $0 = fresh }
        return fresh
    }

    private func isFresh(_ credentials: AWSCredentials, now: Date) -> Bool {
        guard let expiration = credentials.expiration else { return true }
        return now.addingTimeInterval(TimeInterval(configuration.refreshMargin.components.seconds)) < expiration
    }

    private func resolve() async throws -> AWSCredentials {
        var tried: [String] = []
        if let fromEnvironment = try environmentCredentials() { return fromEnvironment }
        tried.append("environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set)")
        if let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE"), let role = value("AWS_ROLE_ARN") {
            return try await webIdentity(tokenFile: tokenFile, role: role)
        }
        tried.append("web identity (AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN not set)")
        let (path, profile) = sharedFile()
        if let fromFile = try sharedFileCredentials(path: path, profile: profile) { return fromFile }
        tried.append("shared credentials file \(path) (no profile [\(profile)] with keys)")
        if let endpoint = containerEndpoint() { return try await containerCredentials(endpoint) }
        tried.append("container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI not set)")
        throw AWSCredentialError("no AWS credentials found; tried: " + tried.joined(separator: "; "))
    }

    private func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    // MARK: - Environment

    private func environmentCredentials() throws -> AWSCredentials? {
        let key = value("AWS_ACCESS_KEY_ID")
        let secret = value("AWS_SECRET_ACCESS_KEY")
        switch (key, secret) {
        case (let key?, let secret?): return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN"))
        case (nil, nil): return nil
        default: throw AWSCredentialError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
        }
    }

    // MARK: - Web identity

    private func webIdentity(tokenFile: String, role: String) async throws -> AWSCredentials {
        guard let data = FileManager.default.contents(atPath: tokenFile) else {
            throw AWSCredentialError("cannot read AWS_WEB_IDENTITY_TOKEN_FILE \(tokenFile)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let session = value("AWS_ROLE_SESSION_NAME") ?? "runway-\(UInt32.random(in: 0...UInt32.max))"
        let region = configuration.region ?? value("AWS_REGION") ?? value("AWS_DEFAULT_REGION")
        let endpoint = value("AWS_ENDPOINT_URL_STS") ?? value("AWS_ENDPOINT_URL")
            ?? region.map { "https://sts.\($0).amazonaws.com" } ?? "https://sts.amazonaws.com"
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", role), ("RoleSessionName", session),
            ("WebIdentityToken", token),
        ].map { "\($0.0)=\(SigV4Signer.encode($0.1))" }.joined(separator: "&")
        let request = HTTPRequest(
            method: "POST", url: endpoint.hasSuffix("/") ? endpoint : endpoint + "/",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/xml")], body: Array(form.utf8))
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw AWSCredentialError("STS AssumeRoleWithWebIdentity for \(role) failed: \(error)")
        }
        let body = response.text
        guard response.status == 200, let key = Self.element("AccessKeyId", in: body), let secret = Self.element("SecretAccessKey", in: body)
        else {
            let message = Self.element("Message", in: body) ?? body.prefix(300).description
            throw AWSCredentialError("STS AssumeRoleWithWebIdentity for \(role) answered HTTP \(response.status): \(message)")
        }
        return AWSCredentials(
            accessKeyID: key, secretAccessKey: secret, sessionToken: Self.element("SessionToken", in: body),
            expiration: Self.element("Expiration", in: body).flatMap(Self.date))
    }

    /// The text of the first `<name>…</name>`, entities decoded. AWS's Query APIs (STS, EC2)
    /// answer in fixed, flat XML shapes, so no XML parser is needed for the few fields read.
    public static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    // MARK: - Shared credentials file

    private func sharedFile() -> (path: String, profile: String) {
        let home = value("HOME") ?? NSHomeDirectory()
        return (value("AWS_SHARED_CREDENTIALS_FILE") ?? home + "/.aws/credentials", value("AWS_PROFILE") ?? "default")
    }

    private func sharedFileCredentials(path: String, profile: String) throws -> AWSCredentials? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let sections = Self.ini(String(decoding: data, as: UTF8.self))
        guard let section = sections[profile] else {
            if value("AWS_PROFILE") != nil {
                throw AWSCredentialError("AWS_PROFILE '\(profile)' is not in \(path) (profiles: \(sections.keys.sorted().joined(separator: ", ")))")
            }
            return nil
        }
        guard let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else {
            throw AWSCredentialError("profile [\(profile)] in \(path) lacks aws_access_key_id or aws_secret_access_key")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"])
    }

    /// `[section]` and `key = value` lines; `#` and `;` start comments.
    static func ini(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst("profile ".count)) }
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            sections[current]?[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return sections
    }

    // MARK: - Container endpoint

    private func containerEndpoint() -> String? {
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") { return "http://169.254.170.2" + relative }
        return value("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    }

    private func containerCredentials(_ endpoint: String) async throws -> AWSCredentials {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let file = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw AWSCredentialError("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file)")
            }
            headers.append(("Authorization", String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        } else if let token = value("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            headers.append(("Authorization", token))
        }
        struct Answer: Decodable {
            var AccessKeyId: String
            var SecretAccessKey: String
            var Token: String?
            var Expiration: String?
        }
        let response: HTTPResponse
        do {
            response = try await http.send(HTTPRequest(method: "GET", url: endpoint, headers: headers, timeout: configuration.containerEndpointTimeout))
        } catch {
            throw AWSCredentialError("the container credentials endpoint \(endpoint) did not answer: \(error)")
        }
        guard response.status == 200, let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body)) else {
            throw AWSCredentialError("the container credentials endpoint \(endpoint) answered HTTP \(response.status): \(response.text.prefix(300))")
        }
        return AWSCredentials(
            accessKeyID: answer.AccessKeyId, secretAccessKey: answer.SecretAccessKey, sessionToken: answer.Token,
            expiration: answer.Expiration.flatMap(Self.date))
    }
}

/// No credentials, or a source that could not give them, in words that say what to set.
public struct AWSCredentialError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
