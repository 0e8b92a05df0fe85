import Foundation

/// Random changes to a manifest tree, as a GitOps checkout and its operators make them: jobs
/// written (same-size variants, so only times and inodes tell an edit apart), a profile and its
/// config files changed, broken files, removals, renames, a symlinked folder and a folder coming
/// and going, and the root's symlink flipping between two revisions (git-sync).
public struct ManifestChurn {
    public static let names = ["alpha", "bravo", "carol", "delta"]
    public static let files = ["a.yaml", "b.yaml", "c.yml", "d.json", "sub/e.yaml", "sub/f.yaml", "linked/g.yaml", "cfg.hcl", "cfg.yaml"]

    /// The root, a symlink to one of the revisions under `scratch`.
    public let root: String
    let scratch: String

    /// Makes two revisions under `scratch` and points `scratch/current` at the first.
    public init(scratch: String) throws {
        self.scratch = scratch
        let manager = FileManager.default
        for revision in ["rev-a", "rev-b"] {
            try manager.createDirectory(atPath: "\(scratch)/\(revision)/sub", withIntermediateDirectories: true)
            try manager.createDirectory(atPath: "\(scratch)/\(revision)/shared", withIntermediateDirectories: true)
        }
        try manager.createSymbolicLink(atPath: scratch + "/current", withDestinationPath: "rev-a")
        root = scratch + "/current"
    }

    public static func job(_ name: String, command: String, after: String?) -> String {
        "apiVersion: runway/v1\nkind: Job\nmetadata: {name: \(name)}\nspec:\n  command: [sh, -c, \(command)]\n"
            + (after.map { "  after: [\($0)]\n" } ?? "")
    }

    public static func profile(_ configFile: String?) -> String {
        "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: main}\nspec:\n  plugin: docker\n  default: true\n"
            + (configFile.map { "  configFile: \($0)\n" } ?? "")
    }

    /// One change: what it did, and the files it wrote, removed or renamed, by the path a walk
    /// of the root gives them (nil: a folder, a symlink or the root changed).
    public struct Change {
        public var description: String
        public var files: Set<String>?
    }

    /// Makes one random change.
    public func step(_ random: inout SplitMix) throws -> Change {
        let (description, touched) = try change(&random)
        return Change(description: description, files: touched.map { Set($0.map { root + "/" + $0 }) })
    }

    private func change(_ random: inout SplitMix) throws -> (String, [String]?) {
        let manager = FileManager.default
        let target = try manager.destinationOfSymbolicLink(atPath: root)
        let base = "\(scratch)/\(target)/"
        let file = Self.files[random.below(Self.files.count)]
        let path = base + file
        try? manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        switch random.below(12) {
        case 0...3:
            let after = random.below(3) == 0 ? Self.names[random.below(Self.names.count)] : nil
            let command = ["echo 1", "echo 2", "exit 0"][random.below(3)]
            try Self.job(Self.names[random.below(Self.names.count)], command: command, after: after)
                .write(toFile: path, atomically: random.below(2) == 0, encoding: .utf8)
            return ("job in \(file)", [file])
        case 4:
            try Self.profile([nil, "cfg.hcl", "cfg.yaml", "missing.hcl", "../../outside.hcl"][random.below(5)])
                .write(toFile: base + "p.yaml", atomically: false, encoding: .utf8)
            return ("profile", ["p.yaml"])
        case 5:
            let network = ["host", "none"][random.below(2)]
            try "network = \"\(network)\"\n".write(toFile: base + "cfg.hcl", atomically: false, encoding: .utf8)
            try "network: \(network)\n".write(toFile: base + "cfg.yaml", atomically: false, encoding: .utf8)
            return ("config files", ["cfg.hcl", "cfg.yaml"])
        case 6:
            try "kind: Job\nmetadata: {name: [\n".write(toFile: path, atomically: false, encoding: .utf8)
            return ("broken \(file)", [file])
        case 7:
            try? manager.removeItem(atPath: path)
            return ("removed \(file)", [file])
        case 8:
            let other = Self.files[random.below(Self.files.count)]
            try? manager.removeItem(atPath: base + other)
            try? manager.moveItem(atPath: path, toPath: base + other)
            return ("renamed \(file)", [file, other])
        case 9:
            if manager.fileExists(atPath: base + "linked") {
                try manager.removeItem(atPath: base + "linked")
                return ("removed linked/", nil)
            }
            try manager.createSymbolicLink(atPath: base + "linked", withDestinationPath: "shared")
            return ("linked/ -> shared", nil)
        case 10:
            try? manager.removeItem(atPath: base + "sub")
            return ("removed sub/", nil)
        default:
            try manager.removeItem(atPath: root)
            try manager.createSymbolicLink(atPath: root, withDestinationPath: target == "rev-a" ? "rev-b" : "rev-a")
            return ("flipped the root", nil)
        }
    }
}
