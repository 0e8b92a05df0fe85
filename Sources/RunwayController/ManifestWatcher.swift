import Foundation
import RunwayManifests
import RunwayModel
import Synchronization

/// Tells the controller what in the manifest directory may have changed: inotify on every
/// folder of the tree and on the folder holding the root (so a git-sync symlink flip is seen),
/// naming the files written, moved or removed; or, with a poll interval, a periodic fingerprint
/// of names, sizes, times and inodes, which names nothing (`everything`). Either way it only
/// signals: the controller reads what it names, and the periodic full reload reads everything.
public final class ManifestWatcher: Sendable {
    public enum Mode: Sendable {
        case inotify
        case poll(Duration)
    }

    let roots: [String]
    let mode: Mode
    let onChange: @Sendable (ManifestChanges) -> Void
    /// The inotify descriptor and whether to stop; the mutex guards both.
    private let state = Mutex<(fd: Int32, stopped: Bool)>((-1, false))

    public init(roots: [String], mode: Mode, onChange: @escaping @Sendable (ManifestChanges) -> Void) {
        self.roots = roots
        self.mode = mode
        self.onChange = onChange
    }

    /// Starts watching on a thread of its own. With inotify the watches are in place when it
    /// returns: a change made after it is seen.
    public func start() {
        let thread: Thread
        switch mode {
        case .inotify:
            let events = watch()
            thread = Thread { [self] in watchEvents(events) }
        case .poll(let interval):
            thread = Thread { [self] in poll(every: interval) }
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

    /// A new inotify descriptor watching the tree; nil when inotify is not available.
    private func watch() -> InotifyEvents? {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { return nil }
        return state.withLock { state in
            guard !state.stopped else { close(fd); return nil }
            state.fd = fd
            return InotifyEvents(fd: fd, roots: roots)
        }
    }

    private func watchEvents(_ first: InotifyEvents?) {
        var next = first
        while !stopped {
            guard let events = next else { return poll(every: .seconds(2)) }
            var changes = ManifestChanges()
            while !stopped && !changes.everything {
                // Wait for an event, looking up every half second to see whether to stop.
                var request = pollfd(fd: events.fd, events: Int16(POLLIN), revents: 0)
                guard Glibc.poll(&request, 1, 500) > 0 else { continue }
                changes.merge(events.read())
                // Debounce: a checkout writes many files; let it settle, then signal once.
                Thread.sleep(forTimeInterval: 0.1)
                changes.merge(events.read())
                if !changes.everything && !stopped {
                    if !changes.files.isEmpty { onChange(changes) }
                    changes = ManifestChanges()
                }
            }
            state.withLock { state in
                if state.fd == events.fd { close(events.fd); state.fd = -1 }
            }
            if stopped { return }
            // Folders came or went: watch the tree again, then say so (so nothing written after
            // the controller's read goes unseen).
            next = watch()
            onChange(ManifestChanges(everything: true))
        }
    }

    private func poll(every interval: Duration) {
        var last = Self.fingerprint(roots)
        while !stopped {
            Thread.sleep(forTimeInterval: interval.timeInterval)
            let current = Self.fingerprint(roots)
            if current != last {
                last = current
                onChange(ManifestChanges(everything: true))
            }
        }
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
