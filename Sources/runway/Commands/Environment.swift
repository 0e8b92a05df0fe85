import Foundation

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
        optional(name).flatMap(Int.init) ?? value
    }

    static func duration(_ name: String, default value: Duration) -> ManifestDuration {
        optional(name).flatMap(ManifestDuration.init(argument:)) ?? ManifestDuration(value)
    }

    /// A colon-separated list (`RUNWAY_MANIFESTS=/manifests:/more`).
    static func list(_ name: String) -> [String] {
        optional(name)?.split(separator: ":").map(String.init) ?? []
    }
}
