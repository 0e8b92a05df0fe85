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
    public static func descendants(of root: pid_t) -> [pid_t] {
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
