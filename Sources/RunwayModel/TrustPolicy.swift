import Crypto
import Foundation

/// What the operator trusts, in one place: who may call the controller's HTTP API. The one
/// authentication gate of the API reads it; nothing else decides who is let in.
public struct TrustPolicy: Sendable {
    /// The operator's bearer token: the read API (`/v1/jobs…`) and every path not listed as open
    /// require it. nil only when the operator chose to serve without one
    /// (`--insecure-no-api-token`): then those paths are open to anyone who can connect.
    public var apiToken: String?
    /// Whether `/metrics` requires the operator's token too (default: open, as Prometheus
    /// scrapers expect).
    public var metricsRequireToken: Bool

    public init(apiToken: String?, metricsRequireToken: Bool = false) {
        self.apiToken = apiToken
        self.metricsRequireToken = metricsRequireToken
    }

    /// Whether `given` is the operator's token, compared in time independent of where the first
    /// difference is (both sides hashed first, so not even the length leaks). True for anything
    /// when there is no token.
    public func isOperator(_ given: String?) -> Bool {
        guard let apiToken else { return true }
        guard let given else { return false }
        let expected = Array(SHA256.hash(data: Data(apiToken.utf8)))
        let actual = Array(SHA256.hash(data: Data(given.utf8)))
        var difference: UInt8 = 0
        for index in 0..<expected.count { difference |= expected[index] ^ actual[index] }
        return difference == 0
    }
}
