import Foundation
import RunwayManifests

/// The bodies of the fuzz targets, shared by the libFuzzer executables (Fuzz/fuzz-*) and the
/// regression tests that replay kept crash and hang reproducers (Tests/Fuzz/TARGET/).
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

    /// Runs `target` on each file named on the command line (the executables' mode when not
    /// built for libFuzzer: replaying a finding by hand).
    public static func replay(_ target: ([UInt8]) -> String) {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(1)
            }
            print("\(path): ok, \(target(Array(data)))")
        }
    }
}
