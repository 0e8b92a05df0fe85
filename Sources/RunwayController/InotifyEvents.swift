import Foundation
import RunwayManifests

/// One inotify descriptor's watches on the manifest roots' trees (and the folders holding the
/// roots), and the reading of its events as ``ManifestChanges``: files by the path a walk of the
/// root as named gives them; `everything` for what names do not tell (a folder made, removed
/// or moved, a root replaced, a hidden symlink flipped as a ConfigMap volume does, a watch
/// lost, the queue overflowed).
struct InotifyEvents {
    enum Watched {
        /// A folder of a root's tree, by the path a walk gives it.
        case folder(String)
        /// The folder holding a root: only an entry of the root's name matters.
        case holder(rootName: String)
    }

    let fd: Int32
    private(set) var watches: [Int32: [Watched]] = [:]

    static let mask = UInt32(
        IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

    init(fd: Int32, roots: [String]) {
        self.fd = fd
        for root in roots {
            let url = URL(fileURLWithPath: root)
            add(url.deletingLastPathComponent().path, .holder(rootName: url.lastPathComponent))
            let resolved = url.resolvingSymlinksInPath().path
            add(resolved, .folder(root))
            guard let walker = FileManager.default.enumerator(atPath: resolved) else { continue }
            while let relative = walker.nextObject() as? String {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: resolved + "/" + relative, isDirectory: &isDirectory), isDirectory.boolValue {
                    add(resolved + "/" + relative, .folder(Self.join(root, relative)))
                }
                if walker.level > 32 { walker.skipDescendants() }
            }
        }
    }

    private mutating func add(_ directory: String, _ watched: Watched) {
        let wd = inotify_add_watch(fd, directory, Self.mask)
        if wd >= 0 { watches[wd, default: []].append(watched) }
    }

    /// `folder/name` as the directory walker spells it.
    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// Every event queued now (none: empty changes).
    func read() -> ManifestChanges {
        var changes = ManifestChanges()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return changes }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + 16 <= count {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = raw[(offset + 16)..<min(count, offset + 16 + length)].prefix { $0 != 0 }
                    changes.merge(change(wd: wd, mask: mask, name: String(decoding: nameBytes, as: UTF8.self)))
                    offset += 16 + length
                }
            }
        }
    }

    private func change(wd: Int32, mask: UInt32, name: String) -> ManifestChanges {
        let everything = ManifestChanges(everything: true)
        if mask & UInt32(IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF) != 0 { return everything }
        var changes = ManifestChanges()
        for watched in watches[wd] ?? [] {
            switch watched {
            case .holder(let rootName):
                if name == rootName { return everything }
            case .folder(let folder):
                let path = Self.join(folder, name)
                if mask & UInt32(IN_ISDIR) != 0 { return everything }
                if name.hasPrefix(".") {
                    var info = stat()
                    if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK { return everything }
                    continue  // a hidden file is no manifest
                }
                changes.files.insert(path)
            }
        }
        return changes
    }
}
