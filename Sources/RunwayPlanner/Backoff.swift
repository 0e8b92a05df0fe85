import Foundation

/// Exponential backoff between attempts, capped, with jitter: attempt n waits
/// `min(cap, base * 2^(n-1))`, scaled by a factor in [0.5, 1.0) drawn from `jitter`.
public struct Backoff: Sendable, Hashable {
    /// Delay after the first failed attempt. Default 2 seconds.
    public var base: Duration
    /// Longest delay. Default 5 minutes.
    public var cap: Duration

    public init(base: Duration = .seconds(2), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    /// The delay after `attempt` failed; `jitter` in [0, 1) (injected so tests are exact).
    public func delay(afterAttempt attempt: Int, jitter: Double) -> TimeInterval {
        let exponent = Double(min(max(attempt - 1, 0), 30))
        let full = min(cap.timeInterval, base.timeInterval * pow(2, exponent))
        return full * (0.5 + 0.5 * min(max(jitter, 0), 0.999_999))
    }
}
