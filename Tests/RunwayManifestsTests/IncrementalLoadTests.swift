import Foundation
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// A directory loaded through a kept cache gives exactly what a fresh load of it gives, after
/// any sequence of edits (same-size ones included), renames, deletes, folders coming and going,
/// config files changing under their profiles, and the root's symlink flipping.
@Suite struct IncrementalLoadTests {
    /// `load` is what a fresh load of `root` gives, with its files decoded on one thread and on
    /// every core (as a large directory's are).
    static func expectFresh(_ load: ManifestLoad, of root: String, _ context: String) {
        var parallel = ManifestLoader.Configuration()
        parallel.parallelThreshold = 2
        for (loader, how) in [(ManifestLoader(), "one thread"), (ManifestLoader(configuration: parallel), "every core")] {
            let fresh = loader.load(paths: [root])
            #expect(load.desired == fresh.desired, "\(context) (\(how)): the desired states differ")
            #expect(load.diagnostics == fresh.diagnostics, "\(context) (\(how)): \(load.diagnostics) vs \(fresh.diagnostics)")
            #expect(load.fileCount == fresh.fileCount, "\(context) (\(how))")
        }
    }

    @Test(arguments: [11, 29, 47]) func anIncrementalLoadEqualsAFreshOneAfterRandomChanges(seed: UInt64) throws {
        let scratch = TemporaryDirectory()
        let churn = try ManifestChurn(scratch: scratch.path)
        var cache = ManifestCache()
        cache.settleWindow = .milliseconds(20)
        var random = SplitMix(seed: seed)
        var reused = 0
        for step in 0..<120 {
            let change = try churn.step(&random).description
            // Some steps apart, so files settle and are taken from the cache.
            if random.below(2) == 0 { Thread.sleep(forTimeInterval: 0.03) }
            let incremental = ManifestLoader().load(paths: [churn.root], cache: &cache)
            reused += cache.reusedLastLoad
            Self.expectFresh(incremental, of: churn.root, "step \(step), \(change)")
        }
        #expect(reused > 100, "files were taken from the cache \(reused) times over the run")
    }

    /// The same when the changed files are named (as the controller's watcher names them): the
    /// tree is not walked and no other file is looked at, and the load still equals a fresh one.
    @Test(arguments: [5, 23, 61]) func aLoadOfTheNamedFilesEqualsAFreshOne(seed: UInt64) throws {
        let scratch = TemporaryDirectory()
        let churn = try ManifestChurn(scratch: scratch.path)
        var cache = ManifestCache()
        var random = SplitMix(seed: seed)
        var named = 0
        for step in 0..<150 {
            let change = try churn.step(&random)
            let incremental = change.files.map { ManifestLoader().load(paths: [churn.root], cache: &cache, changedFiles: $0) }
                ?? ManifestLoader().load(paths: [churn.root], cache: &cache)
            if change.files != nil && cache.reusedLastLoad > 0 { named += 1 }
            Self.expectFresh(incremental, of: churn.root, "step \(step), \(change.description)")
        }
        #expect(named > 60, "\(named) loads took only the named files")
    }

    /// A profile whose config file is missing, taken from the cache by a walk, still reads the
    /// file once it appears and the watcher names it (the walk used to forget which files read
    /// config files when it reused them; a CI run caught it in the test above).
    @Test func aConfigFileThatAppearsIsReadByAProfileAWalkReused() throws {
        let scratch = TemporaryDirectory()
        try scratch.write("p.yaml", ManifestChurn.profile("cfg.yaml"))
        var cache = ManifestCache()
        cache.settleWindow = .milliseconds(20)
        let first = ManifestLoader().load(paths: [scratch.path], cache: &cache)
        #expect(first.diagnostics.contains { $0.message.contains("cannot read configFile 'cfg.yaml'") }, "the premise: \(first.diagnostics)")
        Thread.sleep(forTimeInterval: 0.1)  // p.yaml settles: read once more, then kept
        _ = ManifestLoader().load(paths: [scratch.path], cache: &cache)
        let walked = ManifestLoader().load(paths: [scratch.path], cache: &cache)
        #expect(cache.reusedLastLoad == 1, "the premise: the walk reused p.yaml")
        Self.expectFresh(walked, of: scratch.path, "the walk")
        let config = try scratch.write("cfg.yaml", "network: host\n")
        let named = ManifestLoader().load(paths: [scratch.path], cache: &cache, changedFiles: [config])
        #expect(named.desired.profiles["main"]?.config != nil, "p.yaml read its config file")
        Self.expectFresh(named, of: scratch.path, "cfg.yaml named")
    }

    /// A tidy directory whose jobs are edited, added, removed and renamed, now and then into a
    /// duplicate, a dependency, an unknown profile or a broken file: a load of the named files
    /// patches the last desired state when only jobs changed and the checks across files cannot
    /// fail, and equals a fresh load every time.
    @Test(arguments: [2, 19, 37]) func aPatchedLoadEqualsAFreshOne(seed: UInt64) throws {
        let scratch = TemporaryDirectory()
        try scratch.write("p.yaml", ManifestChurn.profile(nil))
        try FileManager.default.createDirectory(atPath: scratch.path + "/jobs", withIntermediateDirectories: true)
        var random = SplitMix(seed: seed)
        func name() -> String { "job-\(random.int(0...9))" }
        for index in 0..<6 { try scratch.write("jobs/\(index).yaml", ManifestChurn.job("job-\(index)", command: "true", after: nil)) }
        var cache = ManifestCache()
        _ = ManifestLoader().load(paths: [scratch.path], cache: &cache)
        var broken: Int?
        for step in 0..<200 {
            // A mistake is fixed in the next step, as an operator would.
            let number = broken ?? random.int(0...9)
            let file = "jobs/\(number).yaml"
            let path = scratch.path + "/" + file
            var touched = [path]
            let change: String
            let kind = broken != nil ? 0 : random.below(20)
            broken = kind >= 15 ? number : nil
            switch kind {
            case 0...9:
                // Mostly the file's own job (a tidy directory stays tidy), now and then another's.
                let job = random.chance(90) || kind == 0 ? "job-\(number)" : name()
                try ManifestChurn.job(job, command: "echo \(random.int(0...5))", after: nil).write(toFile: path, atomically: random.chance(50), encoding: .utf8)
                change = "job in \(file)"
            case 10...12:
                try? FileManager.default.removeItem(atPath: path)
                change = "removed \(file)"
            case 13, 14:
                let other = scratch.path + "/jobs/\(random.int(0...9)).yaml"
                try? FileManager.default.removeItem(atPath: other)
                try? FileManager.default.moveItem(atPath: path, toPath: other)
                touched.append(other)
                change = "renamed \(file)"
            case 15:
                try ManifestChurn.job("job-\(number)", command: "true", after: name()).write(toFile: path, atomically: false, encoding: .utf8)
                change = "a dependency in \(file)"
            case 16:
                try "apiVersion: runway/v1\nkind: Job\nmetadata: {name: \(name())}\nspec: {command: [\"true\"], profile: gone}\n"
                    .write(toFile: path, atomically: false, encoding: .utf8)
                change = "an unknown profile in \(file)"
            case 17:
                try "kind: Job\nmetadata: {name: [\n".write(toFile: path, atomically: false, encoding: .utf8)
                change = "broken \(file)"
            default:
                try (ManifestChurn.job(name(), command: "true", after: nil) + "---\n" + ManifestChurn.job(name(), command: "false", after: nil))
                    .write(toFile: path, atomically: false, encoding: .utf8)
                change = "two jobs in \(file)"
            }
            let patched = ManifestLoader().load(paths: [scratch.path], cache: &cache, changedFiles: Set(touched))
            Self.expectFresh(patched, of: scratch.path, "step \(step), \(change)")
        }
        #expect(cache.quickLoads > 40, "\(cache.quickLoads) loads patched the last desired state")
    }

    @Test func aFileRewrittenWithinItsSettleWindowIsReadAgain() throws {
        let scratch = TemporaryDirectory()
        var cache = ManifestCache()
        cache.settleWindow = .seconds(3600)
        try scratch.write("p.yaml", ManifestChurn.profile(nil))
        try scratch.write("a.yaml", ManifestChurn.job("alpha", command: "echo 1", after: nil))
        _ = ManifestLoader().load(paths: [scratch.path], cache: &cache)
        try scratch.write("a.yaml", ManifestChurn.job("alpha", command: "echo 2", after: nil))
        let load = ManifestLoader().load(paths: [scratch.path], cache: &cache)
        #expect(cache.reusedLastLoad == 0, "a file changed within the window is never trusted")
        #expect(load.desired.jobs["alpha"]?.spec.command == ["sh", "-c", "echo 2"], "\(load.diagnostics)")
    }
}
