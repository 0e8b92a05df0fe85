/// Proxy settings, by default from the usual variables: `https_proxy`/`HTTPS_PROXY` for
/// `https://`, `http_proxy` (lowercase only, as curl and Go do, because CGI servers set
/// `HTTP_PROXY` from a request header) for `http://`, `all_proxy`/`ALL_PROXY` for both, and
/// `no_proxy`/`NO_PROXY` for hosts that go direct. Unix-socket requests never use a proxy.
public struct Proxies: Sendable, Equatable {
    public var http: String?
    public var https: String?
    /// Comma-separated hosts or domains (`localhost,.internal`), or `*`, reached without a proxy.
    public var noProxy: String?

    public init(http: String? = nil, https: String? = nil, noProxy: String? = nil) {
        self.http = http
        self.https = https
        self.noProxy = noProxy
    }

    public static func fromEnvironment(_ environment: [String: String]) -> Proxies {
        func first(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        let all = first("all_proxy", "ALL_PROXY")
        return Proxies(
            http: first("http_proxy") ?? all, https: first("https_proxy", "HTTPS_PROXY") ?? all,
            noProxy: first("no_proxy", "NO_PROXY"))
    }

    /// The proxy for `url`, or nil to connect directly.
    func proxy(for url: String) -> String? {
        url.lowercased().hasPrefix("https://") ? https : http
    }
}
