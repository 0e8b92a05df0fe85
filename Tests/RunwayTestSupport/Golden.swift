import Foundation
import RunwayProcess

/// Golden files under `Tests/Golden/`. A mismatch fails with both texts; set
/// `RUNWAY_RECORD_GOLDEN=1` to re-record on purpose (never silently).
public enum Golden {
    public static var isRecording: Bool { ProcessInfo.processInfo.environment["RUNWAY_RECORD_GOLDEN"] == "1" }

    /// Compares `actual` with the golden file `name`; returns a failure message, or nil on match.
    public static func check(_ actual: String, against name: String) -> String? {
        let url = Repository.root.appendingPathComponent("Tests/Golden/\(name)")
        if isRecording {
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? actual.write(to: url, atomically: true, encoding: .utf8)
            return nil
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            return "missing golden file Tests/Golden/\(name); record it with RUNWAY_RECORD_GOLDEN=1"
        }
        guard expected != actual else { return nil }
        return "output differs from Tests/Golden/\(name) (re-record with RUNWAY_RECORD_GOLDEN=1 if intended)\n"
            + "--- expected\n\(expected)\n--- actual\n\(actual)"
    }
}

/// Paths inside this repository.
public enum Repository {
    /// The package root, found from this source file's location.
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// Rewrites absolute paths under the root as relative ones, so output is machine-independent.
    public static func relativize(_ text: String) -> String {
        text.replacingOccurrences(of: root.path + "/", with: "")
    }
}

/// A scratch directory removed when the value is released.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("runway-test-XXXXXX").path
        var bytes = Array(template.utf8CString)
        path = bytes.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    /// Removed with its contents, unless `RUNWAY_TEST_KEEP_SCRATCH` is set (to read what a
    /// failed test left: its controllers' logs, its runners' output).
    deinit {
        guard ProcessInfo.processInfo.environment["RUNWAY_TEST_KEEP_SCRATCH"] == nil else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `contents` to `relative`, creating folders; returns the full path. Close-on-exec
    /// (``WholeFile``): a script written here and run by a test must not be kept open for
    /// writing by a process another test started meanwhile ("Text file busy", met in CI).
    @discardableResult
    public func write(_ relative: String, _ contents: String) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try WholeFile.write(Array(contents.utf8), to: full)
        return full
    }
}
