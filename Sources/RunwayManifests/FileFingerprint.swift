#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who a file is and how it was last changed: device, inode, size, mode, and the modification
/// and change times to the nanosecond. A file whose fingerprint is unchanged still holds what
/// was read from it, unless it was written again within the same tick of the file system's
/// clock; ``isSettled(readAt:window:)`` tells such a read apart.
struct FileFingerprint: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var mode: UInt32
    var modified: Int64
    var changed: Int64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        mode = UInt32(info.st_mode)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }

    /// The fingerprint of what `path` names (symlinks followed), or nil when it cannot be seen.
    static func of(_ path: String) -> FileFingerprint? {
        var info = stat()
        return stat(path, &info) == 0 ? FileFingerprint(info) : nil
    }

    /// Whether a read at `readAt` (nanoseconds of wall-clock time) came at least `window` after
    /// the file's last change, so that a later write moves its times. A write in the same clock
    /// tick as the one before leaves them as they were; such a "racily clean" read is not
    /// trusted, and the file is read again next time.
    func isSettled(readAt: Int64, window: Int64) -> Bool {
        readAt - max(modified, changed) >= max(window, 1)
    }

    /// Now, in nanoseconds of wall-clock time (the clock file times come from).
    static var now: Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
