import Foundation

/// Writing a file's whole content the way Runway's own records are written: created (with
/// `mode`) or truncated, open close-on-exec — a process started meanwhile must not keep it open
/// for writing (a script written so and then run would fail with "Text file busy") — and not
/// flushed to the disk.
public enum WholeFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var step: String
        public var path: String
        public var cause: String
        public var description: String { "\(step) \(path): \(cause)" }
    }

    public static func write(_ bytes: some ContiguousBytes, to path: String, mode: mode_t = 0o644) throws(WriteError) {
        func failure(_ step: String) -> WriteError { WriteError(step: step, path: path, cause: String(cString: strerror(errno))) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure("open") }
        let (written, count) = bytes.withUnsafeBytes { (Glibc.write(descriptor, $0.baseAddress, $0.count), $0.count) }
        let unwritten = written == count ? nil : failure("write")  // errno before close can change it
        close(descriptor)
        if let unwritten { throw unwritten }
    }

    /// Appends `bytes` to the existing file at `path` in one `write` (`O_APPEND`: concurrent
    /// appends never interleave); false when there is no such file (none is created).
    public static func append(_ bytes: some ContiguousBytes, to path: String) throws(WriteError) -> Bool {
        func failure(_ step: String) -> WriteError { WriteError(step: step, path: path, cause: String(cString: strerror(errno))) }
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        if descriptor < 0 && errno == ENOENT { return false }
        guard descriptor >= 0 else { throw failure("open") }
        let (written, count) = bytes.withUnsafeBytes { (Glibc.write(descriptor, $0.baseAddress, $0.count), $0.count) }
        let unwritten = written == count ? nil : failure("write")
        close(descriptor)
        if let unwritten { throw unwritten }
        return true
    }
}
