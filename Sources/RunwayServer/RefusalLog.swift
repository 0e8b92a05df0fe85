import Foundation
import Logging
import NIOCore
import Synchronization

/// Log lines for refused requests, a count per source instead of a line per request: the first
/// refusal from a source is logged at once, the rest of the minute are counted and logged as one
/// line when it ends. At most `maxSources` sources are told apart at a time; the rest are counted
/// together, so a flood from many addresses costs bounded memory.
public final class RefusalLog: Sendable {
    private struct Counts {
        var bySource: [String: (count: Int, reason: String)] = [:]
        var flushing = false
    }

    private let counts = Mutex(Counts())
    let logger: Logger
    let window: Duration
    let maxSources: Int

    public init(logger: Logger, window: Duration = .seconds(60), maxSources: Int = 1000) {
        self.logger = logger
        self.window = window
        self.maxSources = maxSources
    }

    func refused(_ reason: String, from address: SocketAddress?) {
        let source = address?.ipAddress ?? "unknown"
        let (first, startFlush) = counts.withLock { counts -> (Bool, Bool) in
            if counts.bySource[source] == nil, counts.bySource.count >= maxSources {
                counts.bySource["other sources", default: (0, reason)].count += 1
                return (false, Self.start(&counts))
            }
            if var seen = counts.bySource[source] {
                seen.count += 1
                seen.reason = reason
                counts.bySource[source] = seen
                return (false, Self.start(&counts))
            }
            counts.bySource[source] = (0, reason)
            return (true, Self.start(&counts))
        }
        if first {
            logger.warning(
                "request refused; more from this source are counted for a minute",
                metadata: ["source": "\(source)", "reason": "\(reason)"])
        }
        if startFlush {
            Task { [self] in
                try? await Task.sleep(for: window)
                flush()
            }
        }
    }

    private static func start(_ counts: inout Counts) -> Bool {
        guard !counts.flushing else { return false }
        counts.flushing = true
        return true
    }

    /// Logs what the window counted, and forgets it.
    private func flush() {
        let counted = counts.withLock { counts in
            defer { counts = Counts() }
            return counts.bySource
        }
        for (source, seen) in counted.sorted(by: { $0.key < $1.key }) where seen.count > 0 {
            logger.warning(
                "requests refused", metadata: ["source": "\(source)", "count": "\(seen.count)", "last.reason": "\(seen.reason)"])
        }
    }
}
