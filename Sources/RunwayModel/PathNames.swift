import Foundation

/// File paths as the controller compares them: absolute, normalized, symlinks resolved.
public enum PathNames {
    /// Where one attempt's output lives in a state directory's log folder.
    public static func attemptLog(in logsDirectory: String, attemptID: String) -> String {
        logsDirectory + "/" + attemptID + ".log"
    }

    /// The path with every symlink resolved, or nil when it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` against the working directory when it is relative.
    public static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }

    /// One spelling per file (`./a/../b.hcl` → `b.hcl`).
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty && parts.last != ".." { parts.removeLast() } else { parts.append(part) }
            default: parts.append(part)
            }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// Where `path` really is: its absolute, normalized spelling with every symlink resolved, as
    /// far as it exists (a file not there yet, in a symlinked directory, is where the link leads).
    public static func resolved(_ path: String) -> String {
        if let real = realPath(path) { return real }
        let whole = normalized(absolute(path))
        var parts = whole.split(separator: "/").map(String.init)
        var rest: [String] = []
        while !parts.isEmpty {
            rest.insert(parts.removeLast(), at: 0)
            if let real = realPath("/" + parts.joined(separator: "/")) {
                return normalized(real + "/" + rest.joined(separator: "/"))
            }
        }
        return whole
    }

    /// Whether `path` is `directory` or lies under it (both already resolved).
    public static func isInside(_ path: String, _ directory: String) -> Bool {
        path == directory || path.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/")
    }
}
