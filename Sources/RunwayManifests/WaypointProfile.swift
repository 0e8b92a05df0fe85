import Foundation
import RunwayModel

/// A Waypoint runner profile — the JSON `waypoint runner profile inspect -json NAME` prints (the
/// `OnDemandRunnerConfig` message, protobuf JSON: `name`, `pluginType`, `pluginConfig` as base64
/// of HCL or JSON per `configFormat`, `environmentVariables`, `default`, `ociUrl`, …) — as a
/// Runway RunnerProfile. Each Waypoint key Runway has an equivalent for is mapped; every other is
/// named with the reason it is not.
public enum WaypointProfile {
    public struct Unmapped: Sendable, Hashable, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "'\(key)': \(reason)" }
    }

    public struct Conversion: Sendable {
        public var profile: RunnerProfile
        public var unmapped: [Unmapped]
    }

    /// Waypoint's task launcher plugins, by the Runway launcher that takes their place.
    static let plugins = ["docker": "docker", "kubernetes": "kubernetes", "nomad": "nomad", "aws-ecs": "ecs"]

    /// The profile in the file at `path` (read as manifests are: a regular file, at most 4 MiB).
    public static func convert(file path: String, diagnostics: inout [Diagnostic]) -> Conversion? {
        guard let bytes = FileReader(maxSize: 4 << 20).read(path, diagnostics: &diagnostics) else { return nil }
        return convert(bytes, path: path, diagnostics: &diagnostics)
    }

    public static func convert(_ bytes: [UInt8], path: String, diagnostics: inout [Diagnostic]) -> Conversion? {
        let at = SourceLocation(path: path, line: 1, column: 1)
        func fail(_ message: String) -> Conversion? {
            diagnostics.append(.error("bad-waypoint-profile", message, at: at))
            return nil
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            return fail("not the JSON object `waypoint runner profile inspect -json` prints")
        }
        func field(_ camel: String, _ snake: String) -> Any? { object[camel] ?? object[snake] }
        guard let type = field("pluginType", "plugin_type") as? String, let plugin = plugins[type] else {
            let given = field("pluginType", "plugin_type").map { "'\($0)'" } ?? "none"
            return fail("pluginType \(given) has no Runway launcher (known: \(plugins.keys.sorted().joined(separator: ", ")))")
        }
        var unmapped: [Unmapped] = []
        let waypointName = (field("name", "name") as? String) ?? type
        let name = Self.name(waypointName)
        if name != waypointName {
            unmapped.append(Unmapped(key: "name", reason: "'\(waypointName)' is not a Runway name (\(Names.rule)); the profile is '\(name)'"))
        }
        var profile = RunnerProfile(name: name, plugin: plugin, location: at)
        profile.isDefault = (field("default", "default") as? Bool) ?? false
        profile.environment = (field("environmentVariables", "environment_variables") as? [String: String]) ?? [:]
        if let image = field("ociUrl", "oci_url") as? String, !image.isEmpty {
            unmapped.append(Unmapped(
                key: "ociUrl", reason: "'\(image)' is Waypoint's runner image; Runway's tasks run the controller's image (RUNWAY_IMAGE), or spec.image when it carries `runway runner`"))
        }
        if field("targetRunner", "target_runner") != nil {
            unmapped.append(Unmapped(key: "targetRunner", reason: "Runway has no static runners: the controller launches every task itself"))
        }
        let config: ConfigNode
        if let encoded = field("pluginConfig", "plugin_config") as? String, !encoded.isEmpty {
            guard let raw = Data(base64Encoded: encoded) else { return fail("pluginConfig is not base64") }
            let format = (field("configFormat", "config_format") as? String) ?? "HCL"  // HCL is the zero value: left out
            var problems: [Diagnostic] = []
            let configPath = path + "#pluginConfig"
            if format == "JSON" {
                config = YAMLReader(maxNesting: 64, maxNodes: 100_000).documents(in: Array(raw), path: configPath, diagnostics: &problems).first
                    ?? ConfigNode(.mapping([]), at: at)
            } else {
                config = HCLReader.config(in: Array(raw), path: configPath, maxNesting: 64, diagnostics: &problems)
            }
            guard !problems.containsErrors else {
                diagnostics += problems
                return nil
            }
        } else {
            config = ConfigNode(.mapping([]), at: at)
        }
        var mapping = WaypointConfigMapping(plugin: type, at: at)
        mapping.map(config, into: &profile)
        unmapped += mapping.unmapped
        return Conversion(profile: profile, unmapped: unmapped)
    }

    /// `name` as a Runway name: lowercase, other characters as '-', at most 63.
    static func name(_ name: String) -> String {
        var text = String(name.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" }.prefix(63))
        while text.hasPrefix("-") { text.removeFirst() }
        while text.hasSuffix("-") { text.removeLast() }
        return text.isEmpty ? "waypoint" : text
    }
}
