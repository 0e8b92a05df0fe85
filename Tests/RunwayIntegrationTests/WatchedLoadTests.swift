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

    /// A watcher stopped while it handles an event touches no descriptor but its own. Closed
    /// from `stop()`, its descriptor's number went to the next one opened (here, a pipe) while
    /// the thread still read it, taking that descriptor's data: a libdispatch timer's wake-up or
    /// a NIO socket's bytes, the likely cause of a CI run that hung with its timers silent and of
    /// one that crashed in NIO on a readable socket with nothing to read.
    @Test func aWatcherStoppedMidEventReadsNoDescriptorButItsOwn() async throws {
        let scratch = TemporaryDirectory()
        for round in 0..<3 {
            let watcher = ManifestWatcher(roots: [scratch.path], mode: .inotify) { _ in }
            watcher.start()
            try "n: \(round)".write(toFile: scratch.path + "/a.yaml", atomically: false, encoding: .utf8)
            // The watcher has the event and waits out its debounce (100 ms).
            try await Task.sleep(for: .milliseconds(30))
            watcher.stop()
            // New descriptors take the lowest free numbers: one the watcher let go is among them.
            let pipes = (0..<8).map { _ in
                var ends: [Int32] = [-1, -1]
                _ = pipe(&ends)
                return ends
            }
            defer { pipes.joined().forEach { close($0) } }
            for ends in pipes { _ = write(ends[1], "x", 1) }
            try await Task.sleep(for: .milliseconds(400))
            for ends in pipes {
                _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
                var byte: UInt8 = 0
                #expect(read(ends[0], &byte, 1) == 1, "round \(round): the byte written to pipe \(ends) was read by someone else")
            }
        }
    }
}
