import Crypto
import Foundation

/// The identity of one version of a job's spec: the first 16 hex digits of the SHA-256 of its
/// canonical form. Labels carry it whole; task names carry its first 8 digits.
public struct Generation: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Every digest Runway computes (16 lowercase hex digits) as its 64 bits: as text it is one
    /// byte too long for a string kept inline, and a job and each of its records hold one. Any
    /// other text (older stores, tests) as written.
    private enum Storage: Hashable {
        case bits(UInt64)
        case text(String)
    }

    private var storage: Storage

    public var digest: String {
        switch storage {
        case .bits(let bits):
            let hex = String(bits, radix: 16)
            return String(repeating: "0", count: 16 - hex.utf8.count) + hex
        case .text(let text): return text
        }
    }

    public init(digest: String) {
        storage = Self.storage(digest)
    }

    private static func storage(_ digest: String) -> Storage {
        let utf8 = digest.utf8
        guard utf8.count == 16, utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }), let bits = UInt64(digest, radix: 16)
        else { return .text(digest) }
        return .bits(bits)
    }

    /// The generation of a job spec run on `profile`. Metadata labels and source positions are not
    /// part of it; the resolved profile, command, directory, environment, timeout, retries and
    /// (when set) image are.
    public init(of spec: JobSpec, profile: String) {
        let hash = SHA256.hash(data: Generation.canonicalBytes(of: spec, profile: profile))
        storage = .bits(hash.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// The first 8 hex digits, used in task names.
    public var short: String { String(digest.prefix(8)) }

    public var description: String { digest }

    public static func < (lhs: Generation, rhs: Generation) -> Bool {
        if case .bits(let left) = lhs.storage, case .bits(let right) = rhs.storage { return left < right }
        return lhs.digest < rhs.digest
    }

    private enum CodingKeys: String, CodingKey { case digest }

    public init(from decoder: any Decoder) throws {
        storage = Self.storage(try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .digest))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(digest, forKey: .digest)
    }

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
