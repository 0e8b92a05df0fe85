import RunwayModel
import Synchronization

/// What each manifest file of a directory decoded to, kept between loads so that a load decodes
/// only the files that changed: a file is decoded again when its fingerprint (device, inode,
/// size, mode, modification and change times) or that of a config file its profiles name has
/// changed, or when it was read too soon after its last change to trust the fingerprint.
/// The walk of the tree and the cross-file checks run in full on every load.
public struct ManifestCache: Sendable {
    /// How long after a file's last change its read is trusted to stand for it: a write in the
    /// same tick of the file system's clock keeps the file's times. Default 1 second.
    public var settleWindow: Duration = .seconds(1)
    /// The manifest roots the files were decoded under (config files must lie inside them).
    var roots: [String] = []
    var files: [String: DecodedFile] = [:]
    /// Every manifest file of the last load, in walk order, and every folder its walk entered.
    var order: [String] = []
    var folders = Set<String>()
    /// The files whose profiles read config files (see ``DecodedFile/dependencies``).
    var withDependencies = Set<String>()
    /// What the last walk of the tree reported (unreadable folders, symlink loops), repeated by
    /// a load that does not walk.
    var walkDiagnostics: [Diagnostic] = []
    /// The jobs the last load made, for the next to take those it did not read again.
    var lastJobs: DesiredState.Jobs = [:]
    /// The config files of the last load's profiles (normalized paths), which are no manifests.
    var configFiles = Set<String>()
    /// The last load, when it had no diagnostic at all, and the job names some job's `after`
    /// lists: what a load that changes only jobs patches (see ``ManifestLoader/quickLoad``).
    var clean: Clean?

    struct Clean {
        var desired: DesiredState
        var referenced: Set<String>
    }

    public init() {}

    /// How many files the last load took from it instead of decoding them.
    public internal(set) var reusedLastLoad = 0
    /// How many loads patched the last desired state instead of checking every file again.
    public internal(set) var quickLoads = 0

    var settleNanoseconds: Int64 {
        let (seconds, attoseconds) = settleWindow.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The kept decoding of `path`, when neither it nor any config file it read has changed.
    func reusable(_ path: String) -> DecodedFile? {
        guard let file = files[path], file.settled, FileFingerprint.of(path) == file.fingerprint else { return nil }
        for (dependency, fingerprint) in file.dependencies where FileFingerprint.of(dependency) != fingerprint { return nil }
        return file
    }
}

/// One manifest file's decoding and what it was made from.
struct DecodedFile: Sendable {
    /// The file as opened; nil when it could not be opened (then it is not kept).
    var fingerprint: FileFingerprint?
    /// Whether every file it was made from had settled when read (see ``ManifestCache``).
    var settled = false
    var objects: [ManifestObject] = []
    /// This file's own diagnostics (reading and decoding; not the cross-file checks).
    var diagnostics: [Diagnostic] = []
    /// The config files its profiles named and that were read (normalized paths).
    var configFiles = Set<String>()
    /// Every config file it tried to read, by the path tried, with its fingerprint then (nil:
    /// it could not be seen).
    var dependencies: [String: FileFingerprint?] = [:]
}

/// The config files one manifest file's profiles tried to read.
struct ConfigDependencies {
    var settleWindow: Int64
    var seen: [String: FileFingerprint?] = [:]
    var settled = true

    mutating func saw(_ path: String, _ fingerprint: FileFingerprint?, readAt: Int64) {
        seen[path] = fingerprint
        settled = settled && (fingerprint?.isSettled(readAt: readAt, window: settleWindow) ?? true)
    }
}

/// A manifest directory loaded again and again (the controller's), decoding only what changed
/// since the last load, and every file again once `fullReload` has passed since the last full
/// load: the safety net against a change no event and no fingerprint shows.
public final class IncrementalManifestLoader: Sendable {
    public let loader: ManifestLoader
    public let paths: [String]
    public let fullReload: Duration
    private struct State {
        var cache = ManifestCache()
        var lastFull: ContinuousClock.Instant?
        /// The jobs changed since the last valid load (nil: any).
        var sinceValid: Set<String>?
        var last: ManifestLoad?
    }
    private let state = Mutex(State())

    public init(loader: ManifestLoader, paths: [String], fullReload: Duration) {
        self.loader = loader
        self.paths = paths
        self.fullReload = fullReload
    }

    /// Loads the directory, walking it (every file whose fingerprint changed decoded again).
    public func load() -> ManifestLoad {
        load(changes: ManifestChanges(everything: true))
    }

    /// Loads the directory after `changes` (nil: none seen since the last load): in full when
    /// the full-reload interval has passed; else the last load again when nothing changed; only
    /// the files named when a watcher could name them; a walk otherwise. Its `changedJobs` are
    /// counted from the last valid load (an invalid one changes no desired state, so its
    /// changes wait for the next valid one).
    public func load(changes: ManifestChanges?) -> ManifestLoad {
        state.withLock { state in
            let now = ContinuousClock.now
            var load: ManifestLoad
            if state.lastFull.map({ now - $0 >= fullReload }) ?? true {
                state.cache.files = [:]
                state.lastFull = now
                load = loader.load(paths: paths, cache: &state.cache)
            } else if let changes, !changes.everything {
                load = loader.load(paths: paths, cache: &state.cache, changedFiles: changes.files)
            } else if changes != nil || state.last == nil {
                load = loader.load(paths: paths, cache: &state.cache)
            } else {
                load = state.last!
                load.changedJobs = []
            }
            if let before = state.sinceValid, let changed = load.changedJobs {
                load.changedJobs = before.union(changed)
            } else {
                load.changedJobs = nil
            }
            state.sinceValid = load.isValid ? [] : load.changedJobs
            state.last = load
            return load
        }
    }
}

/// What a watcher saw change under the manifest roots: files, by the path a walk would give
/// them (under the root as named), or `everything` when the names do not tell (a folder came
/// or went, a root was flipped, events were lost, a poll saw a difference).
public struct ManifestChanges: Sendable, Equatable {
    public var files: Set<String>
    public var everything: Bool

    public init(files: Set<String> = [], everything: Bool = false) {
        self.files = files
        self.everything = everything
    }

    public mutating func merge(_ other: ManifestChanges) {
        everything = everything || other.everything
        files = everything ? [] : files.union(other.files)
    }
}

/// The changes a watcher noted and the controller's loop has not taken yet; the mutex guards them.
public final class ManifestChangeLog: Sendable {
    private let pending = Mutex<ManifestChanges?>(nil)

    public init() {}

    public func note(_ changes: ManifestChanges) {
        pending.withLock { pending in
            if pending == nil { pending = changes } else { pending!.merge(changes) }
        }
    }

    /// The changes noted since the last call; nil when none.
    public func take() -> ManifestChanges? {
        pending.withLock { pending in
            defer { pending = nil }
            return pending
        }
    }
}
