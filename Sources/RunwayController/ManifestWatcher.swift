import CRunwaySystem
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
    /// Whether to stop. The inotify descriptor belongs to the watching thread alone, which
    /// closes it as it leaves: closed from `stop()`, its number could be handed to another
    /// descriptor (a socket, a timer) while the thread still polls and reads it, stealing that
    /// descriptor's data.
    private let stopping = Atomic<Bool>(false)
    /// Written by `stop()` so the thread stops waiting at once; open as long as the watcher is
    /// (the thread holds the watcher).
    private let wake = runway_eventfd()

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

    /// Asks the watching thread to stop: it wakes, closes its descriptor and signals nothing more.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        var one: UInt64 = 1
        if wake >= 0 { _ = write(wake, &one, MemoryLayout<UInt64>.size) }
    }

    deinit { if wake >= 0 { close(wake) } }

    private var stopped: Bool { stopping.load(ordering: .acquiring) }

    /// A new inotify descriptor watching the tree; nil when inotify is not available.
    private func watch() -> InotifyEvents? {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        return fd >= 0 ? InotifyEvents(fd: fd, roots: roots) : nil
    }

    private func watchEvents(_ first: InotifyEvents?) {
        var next = first
        while let events = next {
            signalChanges(events)
            close(events.fd)
            if stopped { return }
            // Folders came or went: watch the tree again, then say so (so nothing written after
            // the controller's read goes unseen).
            next = watch()
            onChange(ManifestChanges(everything: true))
        }
        if !stopped { poll(every: .seconds(2)) }
    }

    /// Signals the files `events` names until told to stop or until names no longer tell
    /// (`everything`): then the tree must be watched again.
    private func signalChanges(_ events: InotifyEvents) {
        var changes = ManifestChanges()
        while !stopped && !changes.everything {
            guard wait(.milliseconds(500), for: events.fd) else { continue }
            changes.merge(events.read())
            // Debounce: a checkout writes many files; let it settle, then signal once.
            _ = wait(.milliseconds(100))
            changes.merge(events.read())
            if !changes.everything && !stopped {
                if !changes.files.isEmpty { onChange(changes) }
                changes = ManifestChanges()
            }
        }
    }

    private func poll(every interval: Duration) {
        var last = Self.fingerprint(roots)
        while !stopped {
            _ = wait(interval)
            if stopped { return }
            let current = Self.fingerprint(roots)
            if current != last {
                last = current
                onChange(ManifestChanges(everything: true))
            }
        }
    }

    /// Waits until `fd` is readable (true), or `timeout` passes or `stop()` is called (false).
    private func wait(_ timeout: Duration, for fd: Int32 = -1) -> Bool {
        // poll ignores a negative descriptor: without one, this waits on the wake alone.
        var requests = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0), pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        guard Glibc.poll(&requests, 2, Int32(clamping: timeout.wholeMilliseconds)) > 0 else { return false }
        return fd >= 0 && requests[1].revents != 0 && !stopped
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
