#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RunwayModel

/// Reads one manifest file safely: it must be a regular file (a FIFO or device would hang a
/// read), no larger than the limit, and text (no NUL bytes).
struct FileReader {
    var maxSize: Int

    func read(_ path: String, diagnostics: inout [Diagnostic]) -> [UInt8]? {
        var fingerprint: FileFingerprint?
        return read(path, diagnostics: &diagnostics, fingerprint: &fingerprint)
    }

    /// Reads `path`, setting `fingerprint` to that of the file opened (nil when it could not
    /// be opened), so a cache knows exactly what the bytes or the diagnostics came from.
    func read(_ path: String, diagnostics: inout [Diagnostic], fingerprint: inout FileFingerprint?) -> [UInt8]? {
        fingerprint = nil
        // O_NONBLOCK so that opening a FIFO returns at once instead of waiting for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            diagnostics.append(.error("unreadable", "cannot read: \(lastErrorText())", at: .file(path)))
            return nil
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            diagnostics.append(.error("unreadable", "cannot read: \(lastErrorText())", at: .file(path)))
            return nil
        }
        fingerprint = FileFingerprint(info)
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            diagnostics.append(.error("not-a-file", "not a regular file; manifests must be files", at: .file(path)))
            return nil
        }
        let size = Int(info.st_size)
        guard size <= maxSize else {
            diagnostics.append(
                .error("too-large", "file is \(Self.mebibytes(size)), larger than the \(Self.mebibytes(maxSize)) limit",
                    at: .file(path), hint: "split it into several files"))
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, size - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        guard filled == size else {
            diagnostics.append(.error("unreadable", "cannot read: file changed while reading", at: .file(path)))
            return nil
        }
        if let nul = bytes.firstIndex(of: 0) {
            diagnostics.append(
                .error("binary-file", "not a text file (NUL byte); manifests are UTF-8 YAML or JSON",
                    at: position(of: nul, in: bytes, path: path)))
            return nil
        }
        return bytes
    }

    /// The 1-based line and column of a byte offset.
    private func position(of offset: Int, in bytes: [UInt8], path: String) -> SourceLocation {
        let before = bytes[..<offset]
        let line = before.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return SourceLocation(path: path, line: line, column: offset - lineStart + 1)
    }

    static func mebibytes(_ bytes: Int) -> String {
        let value = Double(bytes) / 1_048_576
        return value == value.rounded() ? "\(Int(value)) MiB" : "\((value * 10).rounded() / 10) MiB"
    }
}
