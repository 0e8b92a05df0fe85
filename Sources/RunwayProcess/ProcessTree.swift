import CRunwaySystem
import Foundation

/// The live descendants of a process, read from `/proc`, and the signals a runner sends them.
/// Together with ``becomeChildSubreaper()`` this finds everything a job started, even children
/// that called `setsid` or daemonized: their orphans are re-parented to the runner.
public enum ProcessTree {
    /// Makes the calling process the reaper of its orphaned descendants (Linux
    /// `PR_SET_CHILD_SUBREAPER`). Returns false where the system refuses.
    @discardableResult
    public static func becomeChildSubreaper() -> Bool {
        runway_become_child_subreaper() == 0
    }

    /// Every live process below `root` (children, their children, …), never `root` itself.
    /// Zombies are left out: they hold no resources but their status, and signals do nothing.
    /// Read from each process's `/proc/PID/task/TID/children` (the cost grows with the tree, not
    /// with every process on the host); where the kernel has no such file, from every `/proc/PID/stat`.
    public static func descendants(of root: pid_t) -> [pid_t] {
        guard let rootChildren = children(of: root) else { return descendantsByScan(of: root) }
        var found: [pid_t] = []
        var queue = rootChildren
        var seen: Set<pid_t> = [root]
        while let pid = queue.popLast() {
            guard seen.insert(pid).inserted else { continue }
            if let state = state(of: pid), state != "Z" { found.append(pid) }
            queue += children(of: pid) ?? []
        }
        return found
    }

    /// The children of `pid`, from each of its threads' `children` file; nil when the kernel
    /// offers none (or `pid` is gone).
    private static func children(of pid: pid_t) -> [pid_t]? {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var result: [pid_t] = []
        for thread in threads {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8) else { return nil }
            result += text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return result
    }

    /// The state letter of `pid` ("R", "S", "Z", …), from `/proc/PID/stat`.
    private static func state(of pid: pid_t) -> Substring? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first
    }

    private static func descendantsByScan(of root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for (pid, parent) in parents() { children[parent, default: []].append(pid) }
        var found: [pid_t] = []
        var queue = children[root] ?? []
        while let pid = queue.popLast() {
            found.append(pid)
            queue += children[pid] ?? []
        }
        return found
    }

    /// Sends `signal` to every live descendant of `root`; returns how many it reached.
    @discardableResult
    public static func signalDescendants(of root: pid_t, _ signal: Int32) -> Int {
        descendants(of: root).reduce(0) { count, pid in kill(pid, signal) == 0 ? count + 1 : count }
    }

    /// (pid, parent pid) of every live, non-zombie process.
    private static func parents() -> [(pid_t, pid_t)] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> (pid_t, pid_t)? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8) else {
                return nil
            }
            // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
            guard let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", let parent = pid_t(fields[1]) else { return nil }
            return (pid, parent)
        }
    }
}
