import Foundation
import RunwayModel
import Synchronization

/// Tells the controller when the manifest directory may have changed: inotify on every folder
/// of the tree and on the folder holding the root (so a git-sync symlink flip is seen), or, with
/// a poll interval, a periodic fingerprint of names, sizes, times and inodes. Either way it only
/// signals; the controller re-reads the directory and trusts no event.
public final class ManifestWatcher: Sendable {
    public enum Mode: Sendable {
        case inotify
        case poll(Duration)
    }

    let roots: [String]
    let mode: Mode
    let onChange: @Sendable () -> Void
    /// The inotify descriptor and whether to stop; the mutex guards both.
    private let state = Mutex<(fd: Int32, stopped: Bool)>((-1, false))

    public init(roots: [String], mode: Mode, onChange: @escaping @Sendable () -> Void) {
        self.roots = roots
        self.mode = mode
        self.onChange = onChange
    }

    /// Starts watching on a thread of its own.
    public func start() {
        let thread: Thread
        switch mode {
        case .inotify: thread = Thread { [self] in watchEvents() }
        case .poll(let interval): thread = Thread { [self] in poll(every: interval) }
        }
        thread.name = "runway-manifest-watcher"
        thread.start()
    }

    public func stop() {
        state.withLock { state in
            state.stopped = true
            if state.fd >= 0 { close(state.fd) }
            state.fd = -1
        }
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    private func watchEvents() {
        while !stopped {
            let fd = inotify_init1(Int32(IN_CLOEXEC))
            guard fd >= 0 else { return poll(every: .seconds(2)) }
            state.withLock { $0.fd = fd }
            let mask = UInt32(IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB
                | IN_DELETE_SELF | IN_MOVE_SELF)
            for directory in Self.directories(under: roots) { inotify_add_watch(fd, directory, mask) }
            // Wait for an event, looking up every half second to see whether to stop.
            var ready: Int32 = 0
            while !stopped && ready == 0 {
                var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                ready = Glibc.poll(&request, 1, 500)
            }
            state.withLock { state in
                if state.fd == fd { close(fd); state.fd = -1 }
            }
            if stopped { return }
            // Debounce: a checkout writes many files; let it settle, then signal once and
            // watch the tree again (folders may have come and gone).
            Thread.sleep(forTimeInterval: 0.1)
            if !stopped { onChange() }
        }
    }

    private func poll(every interval: Duration) {
        var last = Self.fingerprint(roots)
        while !stopped {
            Thread.sleep(forTimeInterval: interval.timeInterval)
            let current = Self.fingerprint(roots)
            if current != last {
                last = current
                onChange()
            }
        }
    }

    /// Every folder of each root's tree (symlinks followed), and the folder that holds each root.
    static func directories(under roots: [String]) -> [String] {
        var result: [String] = []
        for root in roots {
            result.append(URL(fileURLWithPath: root).deletingLastPathComponent().path)
            let resolved = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
            result.append(resolved)
            guard let walker = FileManager.default.enumerator(atPath: resolved) else { continue }
            while let relative = walker.nextObject() as? String {
                var isDirectory: ObjCBool = false
                let path = resolved + "/" + relative
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                    result.append(path)
                }
                if walker.level > 32 { walker.skipDescendants() }
            }
        }
        return result
    }

    /// Names, sizes, modification times and inodes of everything under the roots.
    static func fingerprint(_ roots: [String]) -> [String] {
        var entries: [String] = []
        for root in roots {
            let resolved = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
            entries.append("root \(root) -> \(resolved)")
            guard let walker = FileManager.default.enumerator(atPath: resolved) else { continue }
            while let relative = walker.nextObject() as? String {
                var info = stat()
                guard stat(resolved + "/" + relative, &info) == 0 else { continue }
                entries.append("\(relative) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)")
            }
        }
        return entries
    }
}
