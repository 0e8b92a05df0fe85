import RunwayManifests

/// The bodies of the fuzz targets, shared by the libFuzzer executables (Fuzz/fuzz-*) and the
/// regression tests that replay kept crash and hang reproducers.
public enum FuzzTargets {
    /// The whole YAML loading path: libyaml, the node tree, the decoder and the validator.
    @discardableResult
    public static func yaml(_ bytes: [UInt8]) -> ManifestLoad {
        ManifestLoader().load(bytes: bytes, path: "fuzz.yaml")
    }

    /// The HCL parser and its mapping, then the same decoder and validator.
    @discardableResult
    public static func hcl(_ bytes: [UInt8]) -> ManifestLoad {
        ManifestLoader().load(bytes: bytes, path: "fuzz.hcl")
    }
}
