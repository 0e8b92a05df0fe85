import Crypto
import Foundation

/// The identity of one version of a job's spec: the first 16 hex digits of the SHA-256 of its
/// canonical form. Labels carry it whole; task names carry its first 8 digits.
public struct Generation: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var digest: String

    public init(digest: String) {
        self.digest = digest
    }

    /// The generation of a job spec run on `profile`. Metadata labels and source positions are not
    /// part of it; the resolved profile, command, directory, environment, timeout, retries and
    /// (when set) image are.
    public init(of spec: JobSpec, profile: String) {
        let hash = SHA256.hash(data: Generation.canonicalBytes(of: spec, profile: profile))
        digest = TaskToken.hex(Array(hash.prefix(8)))
    }

    /// The first 8 hex digits, used in task names.
    public var short: String { String(digest.prefix(8)) }

    public var description: String { digest }

    public static func < (lhs: Generation, rhs: Generation) -> Bool { lhs.digest < rhs.digest }

    /// A canonical, order-independent text of the spec fields that define a run, as UTF-8 bytes
    /// written straight into one buffer (a generation is computed for every job at every load).
    /// Each field is length-prefixed so no two different specs share a text.
    static func canonicalBytes(of spec: JobSpec, profile: String) -> [UInt8] {
        var out: [UInt8] = Array("runway/v1 job\n".utf8)
        out.reserveCapacity(512)
        func field(_ key: String, _ value: String) {
            out += key.utf8
            out.append(UInt8(ascii: " "))
            out += String(value.utf8.count).utf8
            out.append(UInt8(ascii: ":"))
            out += value.utf8
            out.append(UInt8(ascii: "\n"))
        }
        field("name", spec.name)
        field("profile", profile)
        for argument in spec.command { field("argv", argument) }
        if let directory = spec.workingDirectory { field("workdir", directory) }
        for key in spec.environment.keys.sorted() {
            field("env", key)
            field("=", spec.environment[key]!)
        }
        if let timeout = spec.timeout { field("timeout", timeout.manifestDescription) }
        field("retries", String(spec.retries))
        // Only when set, so every job written before `image` existed keeps its generation.
        if let image = spec.image { field("image", image) }
        return out
    }
}
