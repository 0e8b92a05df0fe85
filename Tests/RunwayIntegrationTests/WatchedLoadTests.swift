import Foundation
import RunwayController
import RunwayManifests
import RunwayTestSupport
import Testing

/// The controller's way of loading: inotify names the files that changed and only those are
/// read (a walk when it cannot name them). After any sequence of random changes the desired
/// state and diagnostics converge on a fresh load's as the watcher's events arrive; a change
/// it failed to name would never show, and the load would stay apart.
@Suite struct WatchedLoadTests {
    @Test(arguments: [3, 17]) func theWatchersChangesKeepTheLoadEqualToAFreshOne(seed: UInt64) async throws {
        let scratch = TemporaryDirectory()
        let churn = try ManifestChurn(scratch: scratch.path)
        let log = ManifestChangeLog()
        let watcher = ManifestWatcher(roots: [churn.root], mode: .inotify) { log.note($0) }
        watcher.start()
        defer { watcher.stop() }
        let loader = IncrementalManifestLoader(loader: ManifestLoader(), paths: [churn.root], fullReload: .seconds(3600))
        _ = loader.load()
        var random = SplitMix(seed: seed)
        var named = 0
        for step in 0..<60 {
            let change = try churn.step(&random)
            let fresh = ManifestLoader().load(paths: [churn.root])
            var load = loader.load(changes: log.take())
            let deadline = ContinuousClock.now + .seconds(10)
            while load.desired != fresh.desired || load.diagnostics != fresh.diagnostics, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                guard let changes = log.take() else { continue }
                if !changes.everything { named += 1 }
                load = loader.load(changes: changes)
            }
            #expect(load.desired == fresh.desired, "step \(step), \(change.description): the desired states differ")
            #expect(load.diagnostics == fresh.diagnostics, "step \(step), \(change.description): only in the load \(Set(load.diagnostics).subtracting(fresh.diagnostics)), only fresh \(Set(fresh.diagnostics).subtracting(load.diagnostics))")
        }
        #expect(named > 20, "\(named) loads took only the files the watcher named")
    }
}
