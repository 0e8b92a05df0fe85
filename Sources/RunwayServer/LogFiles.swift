import Foundation
import RunwayModel

/// Attempt logs on disk: `<state-dir>/logs/<attempt-id>.log`, written at explicit offsets so a
/// chunk retried after a crash overwrites what was half-written instead of appending twice.
/// Job output may hold secrets: the directory is `0700` and each file `0600`, the controller's
/// user's alone (an older, looser directory is tightened).
public struct LogFiles: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
        if FileManager.default.fileExists(atPath: directory) { chmod(directory, 0o700) }
    }

    public func path(attemptID: String) -> String { PathNames.attemptLog(in: directory, attemptID: attemptID) }

    func write(_ bytes: [UInt8], attemptID: String, at offset: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(path(attemptID: attemptID), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, bytes.count - written, off_t(offset + written)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            written += count
        }
    }

    /// Bytes `range` of an attempt's log (as far as the file reaches), or nil when there is none.
    public func read(attemptID: String, range: Range<Int>) -> [UInt8]? {
        let fd = open(path(attemptID: attemptID), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: range.count)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(range.lowerBound + filled)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        return Array(bytes.prefix(filled))
    }
}
