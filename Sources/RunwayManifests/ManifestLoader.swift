#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RunwayModel

/// Loads a manifest directory (or single files) into the desired state, collecting every
/// problem of the load as a ``Diagnostic`` instead of stopping at the first.
///
/// Bad input never crashes and never hangs: files are size-capped and must be regular files,
/// nesting depth and alias expansion are bounded, and symlink loops are detected.
public struct ManifestLoader: Sendable {
    /// Limits and the plugin catalog. Every default is documented on its property.
    public struct Configuration: Sendable {
        /// The launcher plugins manifests may name, each with its config validator.
        public var plugins: PluginCatalog
        /// Files larger than this are refused with a diagnostic. Default 4 MiB.
        public var maxFileSize: Int = 4 << 20
        /// Deepest node nesting accepted in a document. Default 64.
        public var maxNesting: Int = 64
        /// Most nodes one document may expand to, aliases included (billion-laughs guard). Default 100,000.
        public var maxNodesPerDocument: Int = 100_000
        /// Deepest directory nesting walked. Default 32.
        public var maxDirectoryDepth: Int = 32
        /// Files are read and decoded on every core (at most 8) when at least this many need it
        /// (a first load, a full reload); fewer, on the loading thread. Default 64.
        public var parallelThreshold: Int = 64

        public init(plugins: PluginCatalog = .builtIn) {
            self.plugins = plugins
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Loads every manifest file under `paths` (directories are walked recursively; files are
    /// read whatever their extension). YAML and JSON files are read first: an `.hcl` file that a
    /// profile names as its `configFile` is that profile's config, not a manifest.
    public func load(paths: [String]) -> ManifestLoad {
        var cache = ManifestCache()
        return load(paths: paths, cache: &cache, keeping: false)
    }

    /// Loads as ``load(paths:)`` does, decoding only the files that changed since `cache` was
    /// filled (or whose config files did); the rest are taken from it. The cross-file checks
    /// and the desired state are made anew from every file's objects each time.
    public func load(paths: [String], cache: inout ManifestCache) -> ManifestLoad {
        load(paths: paths, cache: &cache, keeping: true)
    }

    /// Loads as ``load(paths:cache:)`` does, knowing that only `changedFiles` (paths under
    /// `paths`, as a watcher names them) changed since the cache was filled: the tree is not
    /// walked and no other file is looked at again. Walks as that does when the cache is empty or
    /// a changed path is a folder.
    public func load(paths: [String], cache: inout ManifestCache, changedFiles: Set<String>) -> ManifestLoad {
        load(paths: paths, cache: &cache, keeping: true, changedFiles: changedFiles)
    }

    /// `keeping: false` fills no cache (a one-off load need not pay for it).
    private func load(paths: [String], cache: inout ManifestCache, keeping: Bool, changedFiles: Set<String>? = nil) -> ManifestLoad {
        var diagnostics: [Diagnostic] = []
        let roots = paths.map(Self.root(of:))
        if roots != cache.roots {
            cache.files = [:]
            cache.order = []
        }
        var changes = ObjectChanges(everything: cache.files.isEmpty)
        // Without a walk: the cached files, less those gone, plus those new, the changed decoded again.
        let update = changedFiles.flatMap { cache.apply($0, paths: paths) }
        if keeping, let update, let quick = quickLoad(stale: update.stale, removed: update.removed, roots: roots, cache: &cache) {
            return quick
        }
        let files: [String]
        if let update {
            files = cache.order
            diagnostics = cache.walkDiagnostics
            changes.note(update.removed)
        } else {
            var folders = Set<String>()
            files = DirectoryWalker(maxDepth: configuration.maxDirectoryDepth).manifestFiles(
                under: paths, folders: &folders, diagnostics: &diagnostics)
            if keeping {
                cache.folders = folders
                cache.walkDiagnostics = diagnostics
                cache.withDependencies = []
            }
        }
        var kept: [String: DecodedFile] = [:]
        if keeping && update == nil { kept.reserveCapacity(files.count) }
        var objects: [ManifestObject] = []
        var configFiles = Set<String>()
        var reused = 0
        // Each file as the cache has it, if still valid, else read and decoded anew: on every
        // core when there are many (a first load, a full reload), in the files' order.
        func decodings(_ files: [String]) -> [(decoded: DecodedFile, cached: Bool)] {
            let (snapshot, stale, settle) = (cache, update?.stale, cache.settleNanoseconds)
            return ParallelMap.map(files, threshold: configuration.parallelThreshold) { file in
                if let cached = stale.map({ $0.contains(file) ? nil : snapshot.files[file] }) ?? snapshot.reusable(file) { return (cached, true) }
                return (loadFile(file, roots: roots, settleWindow: settle), false)
            }
        }
        func take(_ file: String, _ decoded: DecodedFile, cached: Bool) {
            if cached { reused += 1 }
            if !cached {
                changes.note(cache.files[file]?.objects ?? [])
                changes.note(decoded.objects)
            }
            // Cached or not: a walk starts the set again, and a file it reuses still reads its
            // config files (a config file that appears is then seen to change it).
            if keeping && !decoded.dependencies.isEmpty { cache.withDependencies.insert(file) }
            if keeping && decoded.dependencies.isEmpty && update != nil { cache.withDependencies.remove(file) }
            objects += decoded.objects
            diagnostics += decoded.diagnostics
            configFiles.formUnion(decoded.configFiles)
            guard keeping else { return }
            if update == nil {
                if decoded.fingerprint != nil { kept[file] = decoded }
            } else if !cached {
                cache.files[file] = decoded.fingerprint != nil ? decoded : nil
            }
        }
        let manifests = files.filter { !$0.hasSuffix(".hcl") }
        for (file, result) in zip(manifests, decodings(manifests)) { take(file, result.decoded, cached: result.cached) }
        // HCL after the rest: a profile's config file written in HCL is not a manifest.
        let hcl = files.filter { $0.hasSuffix(".hcl") && (configFiles.isEmpty || !configFiles.contains(PathNames.normalized($0))) }
        for (file, result) in zip(hcl, decodings(hcl)) { take(file, result.decoded, cached: result.cached) }
        if keeping && update == nil {
            for (file, gone) in cache.files where kept[file] == nil { changes.note(gone.objects) }
            cache.files = kept
            cache.order = files
        }
        cache.roots = roots
        cache.reusedLastLoad = reused
        // Jobs of files not read again keep their spec, and with no profile changed their
        // generation: taken from the last load (less those of names read again).
        let reusable = keeping && !changes.everything ? cache.lastJobs : [:]
        let desired = ManifestValidator().desiredState(from: objects, diagnostics: &diagnostics, reusing: reusable, except: changes.names)
        if keeping {
            cache.lastJobs = desired.jobs
            cache.configFiles = configFiles
            var referenced = Set<String>()
            for case .job(let box, _) in objects { referenced.formUnion(box.spec.after) }
            cache.clean = diagnostics.isEmpty ? .init(desired: desired, referenced: referenced) : nil
        }
        var load = ManifestLoad(desired: desired, diagnostics: diagnostics.sortedByLocation(), fileCount: files.count - configFiles.count)
        load.changedJobs = keeping ? changes.jobs : nil
        return load
    }

    /// Loads manifests from text, as if read from `path` (for tests and piped input); `.hcl`
    /// paths are read as HCL.
    public func load(text: String, path: String) -> ManifestLoad {
        load(bytes: Array(text.utf8), path: path)
    }

    /// Loads manifests from raw bytes, as if read from `path` (the fuzz targets' entry).
    public func load(bytes: [UInt8], path: String) -> ManifestLoad {
        var diagnostics: [Diagnostic] = []
        var configFiles = Set<String>()
        let objects = decode(bytes: bytes, path: path, roots: [Self.root(of: path)], configFiles: &configFiles, diagnostics: &diagnostics)
        let desired = ManifestValidator().desiredState(from: objects, diagnostics: &diagnostics)
        return ManifestLoad(desired: desired, diagnostics: diagnostics.sortedByLocation(), fileCount: 1)
    }

    /// The documents of one file, decoded but not checked against other files (for
    /// `runway convert` and `runway fmt`, which work on one file at a time).
    public func documents(ofFile path: String) -> (documents: [ManifestDocument], diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        guard let bytes = FileReader(maxSize: configuration.maxFileSize).read(path, diagnostics: &diagnostics) else {
            return ([], diagnostics)
        }
        var configFiles = Set<String>()
        let objects = decode(bytes: bytes, path: path, roots: [Self.root(of: path)], configFiles: &configFiles, diagnostics: &diagnostics)
        let documents = objects.map { object -> ManifestDocument in
            switch object {
            case .profile(let profile, _): .profile(profile)
            case .job(let box, _): .job(box.spec)
            }
        }
        return (documents, diagnostics.sortedByLocation())
    }

    /// One file read and decoded, with what it was read from.
    func loadFile(_ path: String, roots: [String], settleWindow: Int64) -> DecodedFile {
        var decoded = DecodedFile()
        let readAt = FileFingerprint.now
        let bytes = FileReader(maxSize: configuration.maxFileSize).read(path, diagnostics: &decoded.diagnostics, fingerprint: &decoded.fingerprint)
        decoded.settled = decoded.fingerprint?.isSettled(readAt: readAt, window: settleWindow) ?? false
        guard let bytes else { return decoded }
        var configFiles = Set<String>()
        var dependencies = ConfigDependencies(settleWindow: settleWindow)
        decoded.objects = decode(
            bytes: bytes, path: path, roots: roots, configFiles: &configFiles, dependencies: &dependencies, diagnostics: &decoded.diagnostics)
        decoded.configFiles = configFiles
        decoded.dependencies = dependencies.seen
        decoded.settled = decoded.settled && dependencies.settled
        return decoded
    }

    /// The documents of one file, YAML/JSON or HCL by its name.
    func documents(bytes: [UInt8], path: String, diagnostics: inout [Diagnostic]) -> [ConfigNode] {
        if path.hasSuffix(".hcl") {
            return HCLReader.documents(in: bytes, path: path, maxNesting: configuration.maxNesting, diagnostics: &diagnostics)
        }
        let reader = YAMLReader(maxNesting: configuration.maxNesting, maxNodes: configuration.maxNodesPerDocument)
        return reader.documents(in: bytes, path: path, diagnostics: &diagnostics)
    }

    private func decode(
        bytes: [UInt8], path: String, roots: [String], configFiles: inout Set<String>, diagnostics: inout [Diagnostic]
    ) -> [ManifestObject] {
        var dependencies = ConfigDependencies(settleWindow: 0)
        return decode(bytes: bytes, path: path, roots: roots, configFiles: &configFiles, dependencies: &dependencies, diagnostics: &diagnostics)
    }

    private func decode(
        bytes: [UInt8], path: String, roots: [String], configFiles: inout Set<String>, dependencies: inout ConfigDependencies,
        diagnostics: inout [Diagnostic]
    ) -> [ManifestObject] {
        let documents = documents(bytes: bytes, path: path, diagnostics: &diagnostics)
        if documents.isEmpty && !diagnostics.contains(where: { $0.location.path == path }) {
            diagnostics.append(.warning("empty-file", "no manifest in this file", at: .file(path)))
        }
        var named = Set<String>()
        var seen = dependencies
        let decoder = ManifestDecoder(plugins: configuration.plugins) { reference, location, diagnostics in
            readConfigFile(reference, from: location, roots: roots, named: &named, dependencies: &seen, diagnostics: &diagnostics)
        }
        var found: [Diagnostic] = []
        let objects = documents.compactMap { decoder.decode($0, diagnostics: &found) }
        dependencies = seen
        // A config file may hold values its author would not print: no diagnostic quotes one.
        diagnostics += found.map { named.contains(PathNames.normalized($0.location.path)) ? $0.withoutQuotedValues() : $0 }
        configFiles.formUnion(named)
        return objects
    }

    /// A profile's `configFile`: HCL (a body of attributes and blocks) or YAML/JSON (a mapping),
    /// relative to the manifest that names it, and inside the manifest directory (`roots`), symlinks
    /// followed: a manifest author may not make the controller read its other files.
    private func readConfigFile(
        _ reference: String, from location: SourceLocation, roots: [String], named: inout Set<String>,
        dependencies: inout ConfigDependencies, diagnostics: inout [Diagnostic]
    ) -> ConfigNode? {
        let directory = location.path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let path = reference.hasPrefix("/") || directory.isEmpty ? reference : directory + "/" + reference
        let readAt = FileFingerprint.now
        var fingerprint = FileFingerprint.of(path)
        defer { dependencies.saw(path, fingerprint, readAt: readAt) }
        let real = PathNames.resolved(path)
        guard roots.contains(where: { PathNames.isInside(real, $0) }) else {
            diagnostics.append(.error(
                "config-file-outside", "configFile '\(reference)' is outside the manifest directory; a profile's config file must live beside its manifests",
                at: location))
            return nil
        }
        var problems: [Diagnostic] = []
        guard let bytes = FileReader(maxSize: configuration.maxFileSize).read(path, diagnostics: &problems, fingerprint: &fingerprint) else {
            diagnostics.append(.error(
                "bad-config-file", "cannot read configFile '\(reference)': \(problems.first?.message ?? "unreadable")", at: location))
            return nil
        }
        named.insert(PathNames.normalized(path))
        if path.hasSuffix(".hcl") {
            return HCLReader.config(in: bytes, path: path, maxNesting: configuration.maxNesting, diagnostics: &diagnostics)
        }
        let reader = YAMLReader(maxNesting: configuration.maxNesting, maxNodes: configuration.maxNodesPerDocument)
        return reader.documents(in: bytes, path: path, diagnostics: &diagnostics).first
            ?? ConfigNode(.mapping([]), at: SourceLocation(path: path, line: 1, column: 1))
    }

    /// The directory a manifest path stands for, symlinks resolved: itself, or a file's directory.
    static func root(of path: String) -> String {
        var info = stat()
        let isDirectory = stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
        let directory = isDirectory ? path : path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let named = directory.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : directory
        return PathNames.resolved(named)
    }
}

/// The result of a load: the desired state and every diagnostic, sorted by location.
/// The objects of the files a load decoded again (before and after): which jobs may differ.
private struct ObjectChanges {
    var everything: Bool
    var names = Set<String>()

    mutating func note(_ objects: [ManifestObject]) {
        guard !everything else { return }  // every name may differ already: none is kept
        for object in objects {
            switch object {
            case .job(let box, _): names.insert(box.spec.name)
            case .profile: everything = true  // its jobs, and any job taking the default, change
            }
        }
    }

    var jobs: Set<String>? { everything ? nil : names }
}

public struct ManifestLoad: Sendable {
    public var desired: DesiredState
    public var diagnostics: [Diagnostic]
    /// How many manifest files were read.
    public var fileCount: Int
    /// The jobs that may differ from the load before (added, edited, removed): those of the
    /// files decoded again. Nil: any job may (a first or full load, or a profile changed).
    public var changedJobs: Set<String>? = nil

    /// True when no diagnostic is an error (warnings allowed).
    public var isValid: Bool { !diagnostics.containsErrors }
}
