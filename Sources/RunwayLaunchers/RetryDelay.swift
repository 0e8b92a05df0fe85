import Foundation

/// How long an API client waits before trying a call again: 200 ms doubling, capped at 5 s, with
/// jitter; a server's `Retry-After` (in seconds, at most 30) wins.
enum RetryDelay {
    static func after(attempt: Int, retryAfter: String?) -> Duration {
        if let seconds = retryAfter.flatMap(Double.init), seconds >= 0 {
            return .milliseconds(Int(min(seconds, 30) * 1000))
        }
        let base = min(0.2 * pow(2, Double(attempt - 1)), 5)
        return .milliseconds(Int(base * Double.random(in: 0.5...1.0) * 1000))
    }
}
