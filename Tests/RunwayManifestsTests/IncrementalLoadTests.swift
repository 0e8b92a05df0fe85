import Foundation
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// A directory loaded through a kept cache gives exactly what a fresh load of it gives, after
/// any sequence of edits (same-size ones included), renames, deletes, folders coming and going,
/// config files changing under their profiles, and the root's symlink flipping.
@Suite struct IncrementalLoadTests {
    /// Same-length variants, so that only the times and inode tell an edit apart.
    static let names = ["alpha", "bravo", "carol", "delta"]
    static let files = ["a.yaml", "b.yaml", "c.yml", "d.json", "sub/e.yaml", "sub/f.yaml", "linked/g.yaml", "cfg.hcl", "cfg.yaml"]

    static func job(_ name: String, command: String, after: String?) -> String {
        "apiVersion: runway/v1\nkind: Job\nmetadata: {name: \(name)}\nspec:\n  command: [sh, -c, \(command)]\n"
            + (after.map { "  after: [\($0)]\n" } ?? "")
    }

    static func profile(_ configFile: String?) -> String {
        "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: main}\nspec:\n  plugin: docker\n  default: true\n"
            + (configFile.map { "  configFile: \($0)\n" } ?? "")
    }

    @Test(arguments: [11, 29, 47]) func anIncrementalLoadEqualsAFreshOneAfterRandomChanges(seed: UInt64) throws {
        let scratch = TemporaryDirectory()
        let manager = FileManager.default
        for revision in ["rev-a", "rev-b"] {
            try manager.createDirectory(atPath: "\(scratch.path)/\(revision)/sub", withIntermediateDirectories: true)
            try manager.createDirectory(atPath: "\(scratch.path)/\(revision)/shared", withIntermediateDirectories: true)
        }
        try manager.createSymbolicLink(atPath: scratch.path + "/current", withDestinationPath: "rev-a")
        let root = scratch.path + "/current"
        var cache = ManifestCache()
        cache.settleWindow = .milliseconds(20)
        var random = SplitMix(seed: seed)
        var reused = 0
        for step in 0..<120 {
            let target = try manager.destinationOfSymbolicLink(atPath: root)
            let base = "\(scratch.path)/\(target)/"
            let file = Self.files[random.below(Self.files.count)]
            let path = base + file
            try? manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let change: String
            switch random.below(12) {
            case 0...3:
                let after = random.below(3) == 0 ? Self.names[random.below(Self.names.count)] : nil
                let command = ["echo 1", "echo 2", "exit 0"][random.below(3)]
                try Self.job(Self.names[random.below(Self.names.count)], command: command, after: after).write(toFile: path, atomically: random.below(2) == 0, encoding: .utf8)
                change = "job in \(file)"
            case 4:
                try Self.profile([nil, "cfg.hcl", "cfg.yaml", "missing.hcl", "../../outside.hcl"][random.below(5)]).write(toFile: base + "p.yaml", atomically: false, encoding: .utf8)
                change = "profile"
            case 5:
                let network = ["host", "none"][random.below(2)]
                try "network = \"\(network)\"\n".write(toFile: base + "cfg.hcl", atomically: false, encoding: .utf8)
                try "network: \(network)\n".write(toFile: base + "cfg.yaml", atomically: false, encoding: .utf8)
                change = "config files"
            case 6:
                try "kind: Job\nmetadata: {name: [\n".write(toFile: path, atomically: false, encoding: .utf8)
                change = "broken \(file)"
            case 7:
                try? manager.removeItem(atPath: path)
                change = "removed \(file)"
            case 8:
                let destination = base + Self.files[random.below(Self.files.count)]
                try? manager.removeItem(atPath: destination)
                try? manager.moveItem(atPath: path, toPath: destination)
                change = "renamed \(file)"
            case 9:
                if manager.fileExists(atPath: base + "linked") {
                    try manager.removeItem(atPath: base + "linked")
                    change = "removed linked/"
                } else {
                    try manager.createSymbolicLink(atPath: base + "linked", withDestinationPath: "shared")
                    change = "linked/ -> shared"
                }
            case 10:
                try? manager.removeItem(atPath: base + "sub")
                change = "removed sub/"
            default:
                try manager.removeItem(atPath: root)
                try manager.createSymbolicLink(atPath: root, withDestinationPath: target == "rev-a" ? "rev-b" : "rev-a")
                change = "flipped the root"
            }
            // Some steps apart, so files settle and are taken from the cache.
            if random.below(2) == 0 { Thread.sleep(forTimeInterval: 0.03) }
            let incremental = ManifestLoader().load(paths: [root], cache: &cache)
            reused += cache.reusedLastLoad
            let fresh = ManifestLoader().load(paths: [root])
            #expect(incremental.desired == fresh.desired, "step \(step), \(change): the desired states differ")
            #expect(incremental.diagnostics == fresh.diagnostics, "step \(step), \(change): \(incremental.diagnostics) vs \(fresh.diagnostics)")
            #expect(incremental.fileCount == fresh.fileCount, "step \(step), \(change)")
        }
        #expect(reused > 100, "files were taken from the cache \(reused) times over the run")
    }

    @Test func aFileRewrittenWithinItsSettleWindowIsReadAgain() throws {
        let scratch = TemporaryDirectory()
        var cache = ManifestCache()
        cache.settleWindow = .seconds(3600)
        try scratch.write("p.yaml", Self.profile(nil))
        try scratch.write("a.yaml", Self.job("alpha", command: "echo 1", after: nil))
        _ = ManifestLoader().load(paths: [scratch.path], cache: &cache)
        try scratch.write("a.yaml", Self.job("alpha", command: "echo 2", after: nil))
        let load = ManifestLoader().load(paths: [scratch.path], cache: &cache)
        #expect(cache.reusedLastLoad == 0, "a file changed within the window is never trusted")
        #expect(load.desired.jobs["alpha"]?.spec.command == ["sh", "-c", "echo 2"], "\(load.diagnostics)")
    }
}
