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

    public init() {}

    /// How many files the last load took from it instead of decoding them.
    public internal(set) var reusedLastLoad = 0

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
/// load: the safety net against a change no fingerprint shows.
public final class IncrementalManifestLoader: Sendable {
    public let loader: ManifestLoader
    public let paths: [String]
    public let fullReload: Duration
    private let state: Mutex<(cache: ManifestCache, lastFull: ContinuousClock.Instant?)>

    public init(loader: ManifestLoader, paths: [String], fullReload: Duration) {
        self.loader = loader
        self.paths = paths
        self.fullReload = fullReload
        self.state = Mutex((ManifestCache(), nil))
    }

    /// Loads the directory, in full when the full-reload interval has passed.
    public func load() -> ManifestLoad {
        state.withLock { state in
            let now = ContinuousClock.now
            if state.lastFull.map({ now - $0 >= fullReload }) ?? true {
                state.cache.files = [:]
                state.lastFull = now
            }
            return loader.load(paths: paths, cache: &state.cache)
        }
    }
}
