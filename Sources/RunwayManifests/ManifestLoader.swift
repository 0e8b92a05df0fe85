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

    /// `keeping: false` fills no cache (a one-off load need not pay for it).
    private func load(paths: [String], cache: inout ManifestCache, keeping: Bool) -> ManifestLoad {
        var diagnostics: [Diagnostic] = []
        let walker = DirectoryWalker(maxDepth: configuration.maxDirectoryDepth)
        let files = walker.manifestFiles(under: paths, diagnostics: &diagnostics)
        let roots = paths.map(Self.root(of:))
        if roots != cache.roots { cache.files = [:] }
        var kept: [String: DecodedFile] = [:]
        if keeping { kept.reserveCapacity(files.count) }
        var objects: [ManifestObject] = []
        var configFiles = Set<String>()
        var reused = 0
        func take(_ file: String) {
            let cached = cache.reusable(file)
            if cached != nil { reused += 1 }
            let decoded = cached ?? loadFile(file, roots: roots, settleWindow: cache.settleNanoseconds)
            objects += decoded.objects
            diagnostics += decoded.diagnostics
            configFiles.formUnion(decoded.configFiles)
            if keeping && decoded.fingerprint != nil { kept[file] = decoded }
        }
        for file in files where !file.hasSuffix(".hcl") { take(file) }
        for file in files where file.hasSuffix(".hcl") && (configFiles.isEmpty || !configFiles.contains(PathNames.normalized(file))) {
            take(file)
        }
        cache.roots = roots
        cache.files = kept
        cache.reusedLastLoad = reused
        let desired = ManifestValidator().desiredState(from: objects, diagnostics: &diagnostics)
        return ManifestLoad(desired: desired, diagnostics: diagnostics.sortedByLocation(), fileCount: files.count - configFiles.count)
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
            case .job(let job, _): .job(job)
            }
        }
        return (documents, diagnostics.sortedByLocation())
    }

    /// One file read and decoded, with what it was read from.
    private func loadFile(_ path: String, roots: [String], settleWindow: Int64) -> DecodedFile {
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
public struct ManifestLoad: Sendable {
    public var desired: DesiredState
    public var diagnostics: [Diagnostic]
    /// How many manifest files were read.
    public var fileCount: Int

    /// True when no diagnostic is an error (warnings allowed).
    public var isValid: Bool { !diagnostics.containsErrors }
}
