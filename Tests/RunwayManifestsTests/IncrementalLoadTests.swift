import Foundation
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// A directory loaded through a kept cache gives exactly what a fresh load of it gives, after
/// any sequence of edits (same-size ones included), renames, deletes, folders coming and going,
/// config files changing under their profiles, and the root's symlink flipping.
@Suite struct IncrementalLoadTests {
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
            let fresh = ManifestLoader().load(paths: [churn.root])
            #expect(incremental.desired == fresh.desired, "step \(step), \(change): the desired states differ")
            #expect(incremental.diagnostics == fresh.diagnostics, "step \(step), \(change): \(incremental.diagnostics) vs \(fresh.diagnostics)")
            #expect(incremental.fileCount == fresh.fileCount, "step \(step), \(change)")
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
            let fresh = ManifestLoader().load(paths: [churn.root])
            #expect(incremental.desired == fresh.desired, "step \(step), \(change.description): the desired states differ")
            #expect(incremental.diagnostics == fresh.diagnostics, "step \(step), \(change.description): \(incremental.diagnostics) vs \(fresh.diagnostics)")
            #expect(incremental.fileCount == fresh.fileCount, "step \(step), \(change.description)")
        }
        #expect(named > 60, "\(named) loads took only the named files")
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
