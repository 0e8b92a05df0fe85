import ArgumentParser
import Foundation
import Synchronization

/// Defaults from `RUNWAY_*` environment variables, as pods are configured: a flag on the
/// command line wins; the variable, when set, replaces the built-in default.
enum Environment {
    static func string(_ name: String, default value: String) -> String {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? value
    }

    static func optional(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func integer(_ name: String, default value: Int) -> Int {
        parsed(name, as: "a whole number", Int.init) ?? value
    }

    static func duration(_ name: String, default value: Duration) -> ManifestDuration {
        parsed(name, as: "a duration like 30s, 2m or 1h30m", ManifestDuration.init(argument:)) ?? ManifestDuration(value)
    }

    static func size(_ name: String, default value: Int) -> ByteSize {
        parsed(name, as: "a size like 100Mi or 1Gi", ByteSize.init(argument:)) ?? ByteSize(value)
    }

    /// The variable's value read as `T`; a value that is not one is remembered for
    /// ``checkValues()`` (an option's default cannot fail), and the default applies meanwhile.
    private static func parsed<T>(_ name: String, as kind: String, _ parse: (String) -> T?) -> T? {
        guard let text = optional(name) else { return nil }
        guard let value = parse(text) else {
            _ = problems.withLock { $0.insert("\(name) must be \(kind), got '\(text)'") }
            return nil
        }
        return value
    }

    private static let problems = Mutex<Set<String>>([])

    /// Refuses to go on when a `RUNWAY_*` variable held a value its option cannot take, naming it.
    static func checkValues() throws {
        let found = problems.withLock { $0 }.sorted()
        guard found.isEmpty else { throw ValidationError(found.joined(separator: "; ")) }
    }

    /// A colon-separated list (`RUNWAY_MANIFESTS=/manifests:/more`).
    static func list(_ name: String) -> [String] {
        optional(name)?.split(separator: ":").map(String.init) ?? []
    }
}
