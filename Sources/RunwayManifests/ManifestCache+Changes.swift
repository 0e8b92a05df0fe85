#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RunwayModel

extension ManifestCache {
    /// What ``apply(_:paths:)`` found: the files to decode again, and the objects of those gone.
    struct Update {
        var stale = Set<String>()
        var removed: [ManifestObject] = []
    }

    /// Brings the file list up to date with `changed` (paths of files under `paths`, as the
    /// watcher names them) without walking the tree: a manifest file that is there is decoded
    /// again (and joins the list in walk order when new), one that is gone leaves it, and a file
    /// whose profiles read a changed config file is decoded again. Hidden files and names
    /// without a manifest extension are not manifests (as in a walk). Nil, changing nothing,
    /// when a walk is needed instead: nothing is known yet, or a changed path is a folder.
    mutating func apply(_ changed: Set<String>, paths: [String]) -> Update? {
        guard !order.isEmpty else { return nil }
        var update = Update()
        var manifests: [(path: String, root: Int, isFile: Bool)] = []
        // The config files the profiles read, resolved once (most directories have none).
        let dependencies = withDependencies.map { file in (file, (files[file]?.dependencies.keys).map { $0.map(PathNames.resolved) } ?? []) }
        for path in changed.sorted() {
            if !dependencies.isEmpty {
                let resolved = PathNames.resolved(path)
                for (file, read) in dependencies where read.contains(resolved) { update.stale.insert(file) }
            }
            guard let root = Self.root(of: path, in: paths) else { continue }
            let relative = path.utf8.dropFirst(paths[root].utf8.count).split(separator: UInt8(ascii: "/"))
            guard !relative.contains(where: { $0.first == UInt8(ascii: ".") }) else { continue }  // hidden: not walked
            var info = stat()
            let exists = stat(path, &info) == 0
            let isFile = exists && (info.st_mode & S_IFMT) == S_IFREG
            // A folder (or a symlink to one) made or removed, or a file in a folder the walk did
            // not enter (a symlink loop's second way in): only a walk tells what that changes.
            if exists && (info.st_mode & S_IFMT) == S_IFDIR || !exists && folders.contains(path) { return nil }
            guard relative.isEmpty || DirectoryWalker.isManifestName(String(decoding: relative.last!, as: UTF8.self)) else { continue }
            if isFile && !folders.contains(Self.folder(of: path)) && !paths.contains(path) { return nil }
            manifests.append((path, root, isFile))
        }
        for (path, root, isFile) in manifests {
            let (at, found) = Self.position(of: path, root: root, in: order, paths: paths)
            if isFile {
                if !found { order.insert(path, at: at) }
                update.stale.insert(path)
            } else if found {
                order.remove(at: at)
                update.removed += files.removeValue(forKey: path)?.objects ?? []
                withDependencies.remove(path)
            }
        }
        return update
    }

    /// The folder `path` is in, as the walk spells it.
    static func folder(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == path.utf8.startIndex ? "/" : String(path[..<slash])
    }

    /// The index of the root `path` lies under (the first, when roots nest).
    static func root(of path: String, in paths: [String]) -> Int? {
        paths.firstIndex { root in path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/") }
    }

    /// Where `path` is, or belongs, in `order` (files in walk order: root by root, each folder's
    /// entries sorted by name, a folder's files where its name sorts).
    static func position(of path: String, root: Int, in order: [String], paths: [String]) -> (Int, found: Bool) {
        var low = 0
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            let other = order[middle]
            if other == path { return (middle, true) }
            let otherRoot = Self.root(of: other, in: paths) ?? 0
            if otherRoot < root || (otherRoot == root && walksBefore(other, path)) { low = middle + 1 } else { high = middle }
        }
        return (low, false)
    }

    /// Whether a walk reaches `a` before `b` (paths under one root): names compare within their
    /// folder, so a folder's end (`/`) sorts before any character.
    static func walksBefore(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case let (x?, y?) where x != y:
                let slash = UInt8(ascii: "/")
                return (x == slash ? 0 : x) < (y == slash ? 0 : y)
            default: continue
            }
        }
    }
}
