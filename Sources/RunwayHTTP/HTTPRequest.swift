import CCurl

/// One HTTP request.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    /// Overrides the client's total timeout for this request.
    public var timeout: Duration?
    /// The transfer is abandoned when no byte moves for this long (curl's low-speed limit: under
    /// 1 byte per second for this many seconds). For streams, whose total may be long: a stalled
    /// image pull. Default none.
    public var stallTimeout: Duration?

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, timeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A whole response. Header names are lowercased.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// No response: the host, method, path and cause, as curl tells them.
public struct HTTPError: Error, CustomStringConvertible {
    public var method: String
    public var url: String
    /// The unix socket the request went to, if any.
    public var socket: String?
    /// curl's error code (`CURLE_*`).
    public var code: Int
    public var cause: String

    public init(method: String, url: String, socket: String? = nil, code: Int, cause: String) {
        self.method = method
        self.url = url
        self.socket = socket
        self.code = code
        self.cause = cause
    }

    public var description: String { "\(method) \(url)\(socket.map { " (via unix socket \($0))" } ?? ""): \(cause)" }

    /// No connection could be made, or it timed out: the server may come back.
    public var isUnreachable: Bool {
        [
            Int(CURLE_COULDNT_CONNECT.rawValue), Int(CURLE_COULDNT_RESOLVE_HOST.rawValue),
            Int(CURLE_OPERATION_TIMEDOUT.rawValue), Int(CURLE_SEND_ERROR.rawValue), Int(CURLE_RECV_ERROR.rawValue),
            Int(CURLE_GOT_NOTHING.rawValue),
        ].contains(code)
    }

    /// The transfer ran past its total timeout or stalled past its stall timeout.
    public var isTimeout: Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }

    /// The server's certificate was not trusted, or the client's own TLS files are unusable:
    /// retrying will not help until the configuration changes.
    public var isCertificateProblem: Bool {
        [
            Int(CURLE_PEER_FAILED_VERIFICATION.rawValue), Int(CURLE_SSL_CACERT_BADFILE.rawValue),
            Int(CURLE_SSL_CERTPROBLEM.rawValue), Int(CURLE_SSL_ISSUER_ERROR.rawValue),
            Int(CURLE_SSL_PINNEDPUBKEYNOTMATCH.rawValue),
        ].contains(code)
    }
}
