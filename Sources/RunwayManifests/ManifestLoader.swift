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
    /// read whatever their extension).
    public func load(paths: [String]) -> ManifestLoad {
        var diagnostics: [Diagnostic] = []
        var objects: [ManifestObject] = []
        let walker = DirectoryWalker(maxDepth: configuration.maxDirectoryDepth)
        let files = walker.manifestFiles(under: paths, diagnostics: &diagnostics)
        for file in files {
            objects += loadFile(file, diagnostics: &diagnostics)
        }
        let desired = ManifestValidator().desiredState(from: objects, diagnostics: &diagnostics)
        return ManifestLoad(desired: desired, diagnostics: diagnostics.sortedByLocation(), fileCount: files.count)
    }

    /// Loads manifests from text, as if read from `path` (for tests and piped input).
    public func load(text: String, path: String) -> ManifestLoad {
        var diagnostics: [Diagnostic] = []
        let objects = decode(bytes: Array(text.utf8), path: path, diagnostics: &diagnostics)
        let desired = ManifestValidator().desiredState(from: objects, diagnostics: &diagnostics)
        return ManifestLoad(desired: desired, diagnostics: diagnostics.sortedByLocation(), fileCount: 1)
    }

    private func loadFile(_ path: String, diagnostics: inout [Diagnostic]) -> [ManifestObject] {
        if path.hasSuffix(".hcl") {
            diagnostics.append(
                .error(
                    "unsupported-syntax", "HCL manifests are not supported yet", at: .file(path),
                    hint: "write this file as YAML or JSON"))
            return []
        }
        guard let bytes = FileReader(maxSize: configuration.maxFileSize).read(path, diagnostics: &diagnostics) else {
            return []
        }
        return decode(bytes: bytes, path: path, diagnostics: &diagnostics)
    }

    private func decode(bytes: [UInt8], path: String, diagnostics: inout [Diagnostic]) -> [ManifestObject] {
        let reader = YAMLReader(maxNesting: configuration.maxNesting, maxNodes: configuration.maxNodesPerDocument)
        let documents = reader.documents(in: bytes, path: path, diagnostics: &diagnostics)
        if documents.isEmpty && !diagnostics.contains(where: { $0.location.path == path }) {
            diagnostics.append(.warning("empty-file", "no manifest in this file", at: .file(path)))
        }
        let decoder = ManifestDecoder(plugins: configuration.plugins)
        return documents.compactMap { decoder.decode($0, diagnostics: &diagnostics) }
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
