import Foundation
import Logging

/// How long each phase of a pass took, for the debug log: what a slow pass spends its time on.
struct PhaseClock {
    private var last = ContinuousClock.now
    private var phases: [(name: String, took: Duration)] = []

    /// Ends the phase running since the last lap (or the clock's start) as `name`.
    mutating func lap(_ name: String) {
        let now = ContinuousClock.now
        phases.append((name, now - last))
        last = now
    }

    /// Each phase's time in milliseconds.
    var metadata: Logger.Metadata {
        Dictionary(phases.map { ($0.name, .string(String(format: "%.1fms", $0.took.timeInterval * 1000))) }, uniquingKeysWith: { a, _ in a })
    }
}
