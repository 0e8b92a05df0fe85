#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RunwayModel

/// Finds manifest files: walks directories recursively (following symlinks, detecting loops),
/// skips hidden entries, keeps `.yaml`, `.yml`, `.json` and `.hcl` files, and returns them
/// sorted so loads are deterministic.
struct DirectoryWalker {
    static let extensions = [".yaml", ".yml", ".json", ".hcl"]

    var maxDepth: Int

    func manifestFiles(under roots: [String], diagnostics: inout [Diagnostic]) -> [String] {
        var folders = Set<String>()
        return manifestFiles(under: roots, folders: &folders, diagnostics: &diagnostics)
    }

    /// The manifest files, and in `folders` every folder walked (by the path the files have).
    func manifestFiles(under roots: [String], folders: inout Set<String>, diagnostics: inout [Diagnostic]) -> [String] {
        var files: [String] = []
        for root in roots {
            var info = stat()
            guard stat(root, &info) == 0 else {
                diagnostics.append(.error("unreadable", "cannot read: \(lastErrorText())", at: .file(root)))
                continue
            }
            if isDirectory(info) {
                var visited: Set<FileID> = [FileID(info)]
                walk(root, depth: 0, visited: &visited, files: &files, folders: &folders, diagnostics: &diagnostics)
            } else {
                files.append(root)  // named explicitly: read whatever its extension
            }
        }
        return files
    }

    private func walk(
        _ directory: String, depth: Int, visited: inout Set<FileID>, files: inout [String], folders: inout Set<String>,
        diagnostics: inout [Diagnostic]
    ) {
        guard depth < maxDepth else {
            diagnostics.append(
                .warning("too-deep", "directory nesting deeper than \(maxDepth) levels; not walked further",
                    at: .file(directory)))
            return
        }
        guard let entries = entries(of: directory, diagnostics: &diagnostics) else { return }
        folders.insert(directory)
        for (name, type) in entries.sorted(by: { $0.name < $1.name }) where !name.hasPrefix(".") {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            // A regular file needs no stat: its read reports what goes wrong. Directories,
            // symlinks and what the file system does not type are looked at.
            if type == UInt8(DT_REG) {
                if Self.isManifestName(name) { files.append(path) }
                continue
            }
            var info = stat()
            guard stat(path, &info) == 0 else {
                if Self.isManifestName(name) {
                    diagnostics.append(.error("unreadable", "cannot read: \(lastErrorText())", at: .file(path)))
                }
                continue
            }
            if isDirectory(info) {
                guard visited.insert(FileID(info)).inserted else {
                    diagnostics.append(
                        .warning("symlink-loop", "skipped: this directory was already visited (symlink loop)",
                            at: .file(path)))
                    continue
                }
                walk(path, depth: depth + 1, visited: &visited, files: &files, folders: &folders, diagnostics: &diagnostics)
            } else if Self.isManifestName(name) {
                files.append(path)
            }
        }
    }

    /// The names in `directory` and their types as `readdir` tells them (`DT_UNKNOWN` where the
    /// file system does not say).
    private func entries(of directory: String, diagnostics: inout [Diagnostic]) -> [(name: String, type: UInt8)]? {
        guard let handle = opendir(directory) else {
            diagnostics.append(.error("unreadable", "cannot list directory: \(lastErrorText())", at: .file(directory)))
            return nil
        }
        defer { closedir(handle) }
        var names: [(name: String, type: UInt8)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append((name, entry.pointee.d_type)) }
        }
        return names
    }

    static func isManifestName(_ name: some StringProtocol) -> Bool {
        Self.extensions.contains { name.hasSuffix($0) }
    }

    private func isDirectory(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFDIR }
}

/// A file's identity on disk, for loop detection.
struct FileID: Hashable {
    var device: UInt64
    var inode: UInt64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

func lastErrorText() -> String { String(cString: strerror(errno)) }
