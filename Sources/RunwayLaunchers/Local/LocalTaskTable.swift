import Foundation
import RunwayModel
import RunwayProcess
import Synchronization

/// The local launcher's tasks: one record file per task in its directory (so they outlive the
/// controller, and controllers on one host that share the directory see each other's tasks), a
/// copy in memory re-read whenever a file changed, and the exit status of each own child
/// recorded when the shared reaper (``ChildReaper``, one thread for all) sees it end.
final class LocalTaskTable: Sendable {
    let directory: String
    /// Records by task name, each with the change stamp of the file it was read from; the mutex
    /// guards the dictionary and the files it mirrors.
    private let records = Mutex<[String: (record: LocalTaskRecord, stamp: FileStamp)]>([:])
    /// This process's own children whose reaper has not recorded their exit yet: task name →
    /// pid. Such a child is running (or exiting, its status about to be recorded): a listing
    /// needs no look at /proc for it.
    private let reaping = Mutex<[String: pid_t]>([:])
    /// When ``all()`` last read the directory.
    private let lastScan = Mutex<ContinuousClock.Instant?>(nil)
    /// How often ``all()`` reads the directory again: a listing in between costs no file system
    /// call per task (at 1,000 tasks the stats were most of a pass's observation).
    static let rescanInterval: Duration = .seconds(1)

    init(directory: String) {
        self.directory = directory
    }

    /// The record of task `name`, as its file says now; nil when there is none.
    func record(named name: String) throws -> LocalTaskRecord? {
        records.withLock { table in read(name, into: &table) }
    }

    /// Every task's record, as the directory says (read again at most every ``rescanInterval``:
    /// between reads, the records as this table knows them, which includes every change this
    /// process made; a change another process sharing the directory makes is seen by the next
    /// read).
    func all() throws -> [LocalTaskRecord] {
        let now = ContinuousClock.now
        let rescan = lastScan.withLock { last in
            guard last.map({ now - $0 >= Self.rescanInterval }) ?? true else { return false }
            last = now
            return true
        }
        guard rescan else { return records.withLock { $0.values.map(\.record) } }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        removeAbandonedWrites(files)
        let names = files.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".tmp-") }.map { String($0.dropLast(5)) }
        return records.withLock { table in
            // readdir may miss an entry renamed over while it reads (every record is rewritten
            // by a rename; with hundreds of tasks starting, a running task went missing and was
            // called lost): a task this table knows is looked up by its name before it counts
            // as gone (`read` forgets it when its file really is gone).
            let unlisted = Set(table.keys).subtracting(names).sorted()
            return (names + unlisted).compactMap { read($0, into: &table) }
        }
    }

    /// Removes the temporary files of writes whose process died before its rename (a controller
    /// killed mid-write): `.tmp-PID-NAME.json` of a PID that no longer exists.
    private func removeAbandonedWrites(_ files: [String]) {
        for file in files where file.hasPrefix(".tmp-") {
            guard let pid = pid_t(file.dropFirst(5).prefix { $0 != "-" }), pid != getpid() else { continue }
            if kill(pid, 0) == -1, errno == ESRCH { unlink(directory + "/" + file) }
        }
    }

    /// Task `name`'s record: the cached one while its file is unchanged, else the file decoded.
    private func read(_ name: String, into table: inout [String: (record: LocalTaskRecord, stamp: FileStamp)]) -> LocalTaskRecord? {
        let path = directory + "/" + name + ".json"
        guard let stamp = FileStamp(path: path) else {
            table.removeReleasing(name)
            return nil
        }
        if let cached = table[name], cached.stamp == stamp { return cached.record }
        guard let data = FileManager.default.contents(atPath: path), let record = LocalTaskRecord.newest(in: data) else {
            return table[name]?.record
        }
        table[name] = (record, stamp)
        return record
    }

    /// The variable carrying a spawn's token in its process's environment.
    static let spawnVariable = "RUNWAY_LOCAL_SPAWN"
    /// How long a record whose pid was never written (and whose process is not found) counts as
    /// still starting, before it counts as a start that was interrupted.
    static let spawnPatience: TimeInterval = 10

    /// Records the task, then starts `argv` in a new process group, records its pid, and starts
    /// its reaper. The record comes first, so a controller stopped in between leaves one the next
    /// controller finds the process by (``settled(_:)``), never a process nobody knows of.
    func spawn(name: String, labels: [String: String], argv: [String], environment: [String: String], grace: Duration)
        throws -> LocalTaskRecord
    {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let token = UUID().uuidString
        var record = LocalTaskRecord(
            name: name, pid: 0, startTicks: 0, labels: labels, startedAt: Date(), graceMilliseconds: grace.wholeMilliseconds,
            spawnToken: token)
        try records.withLock { table in try write(record, into: &table) }
        var options = ProcessSpawner.Options(argv: argv, environment: environment.merging([Self.spawnVariable: token]) { $1 })
        options.newProcessGroup = true  // a stop signals the group: the runner and the job it runs
        options.stdout = .file(directory + "/" + name + ".out", append: true)
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(options)
        } catch {
            forget(name)
            throw LauncherError(.invalidSpec, plugin: LocalLauncher.plugin, task: name, "\(error)")
        }
        record.pid = pid
        record.startTicks = ProcessStat(pid: pid)?.startTicks ?? 0
        let started = record
        try records.withLock { table in try write(started, into: &table) }
        reaping.withLock { $0[name] = pid }
        ChildReaper.shared.watch(pid) { [self] exit in reaped(name: name, pid: pid, exit: exit) }
        return record
    }

    /// The record with its process found, when its spawn never recorded the pid: the process
    /// group leader whose environment carries the spawn's token. Unchanged otherwise.
    func settled(_ record: LocalTaskRecord) -> LocalTaskRecord {
        guard record.pid == 0, let token = record.spawnToken, let pid = Self.process(spawnToken: token) else { return record }
        var found = record
        found.pid = pid
        found.startTicks = ProcessStat(pid: pid)?.startTicks ?? 0
        let recorded = found
        records.withLock { table in try? write(recorded, into: &table) }
        return found
    }

    /// The process group leader whose environment holds `RUNWAY_LOCAL_SPAWN=token`.
    static func process(spawnToken token: String) -> pid_t? {
        let needle = Data("\0\(spawnVariable)=\(token)\0".utf8)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), getpgid(pid) == pid,
                let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { continue }
            if (Data([0]) + environ).range(of: needle) != nil { return pid }
        }
        return nil
    }

    private func forget(_ name: String) {
        records.withLock { table in
            table.removeReleasing(name)
            try? FileManager.default.removeItem(atPath: directory + "/" + name + ".json")
        }
    }

    /// A record whose spawn was interrupted before its process started (none carries its token,
    /// ``spawnPatience`` after it was written): it is forgotten, and true returned — the task was
    /// never started, so the attempt's start is resumed, not counted as a failure.
    func forgetIfAbandoned(_ record: LocalTaskRecord) -> Bool {
        guard record.pid == 0, Date().timeIntervalSince(record.startedAt) > Self.spawnPatience else { return false }
        forget(record.name)
        return true
    }

    /// Running, or exited with its status (or vanished, when it was not our child). A record
    /// whose process was not found yet is starting.
    func status(of record: LocalTaskRecord) -> (state: ObservedTask.State, exitCode: Int32?, reason: String?) {
        let current = records.withLock { $0[record.name]?.record } ?? record
        if current.pid == 0 { return (.pending, nil, nil) }
        if current.exitedAt != nil {
            return (.exited, current.exitCode, current.signal.map { "killed by signal \($0)" })
        }
        // Our own child: running until its reaper records the exit status.
        if reaping.withLock({ $0[record.name] == current.pid }) { return (.running, nil, nil) }
        if isAlive(current) { return (.running, nil, nil) }
        return (.exited, nil, "process vanished")
    }

    /// SIGTERM to the task's process group, SIGKILL after its grace, then forget it.
    func stop(_ record: LocalTaskRecord) async throws {
        let record = settled(record)
        guard record.pid > 0 else { return forget(record.name) }  // never started, as far as anyone can find
        if isAlive(record) {
            kill(-record.pid, SIGTERM)
            kill(-record.pid, SIGCONT)  // a stopped (frozen) process must run to handle SIGTERM
            let deadline = ContinuousClock.now + record.grace
            while isAlive(record) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        }
        // Whatever is left of the group (the runner, or a job it started) is killed, if the
        // group is still this task's.
        if isAlive(record) || (groupIsOurs(record) && kill(-record.pid, 0) == 0) {
            kill(-record.pid, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(5)
            while isAlive(record) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        }
        try records.withLock { table in
            table.removeReleasing(record.name)
            let path = directory + "/" + record.name + ".json"
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try? FileManager.default.removeItem(atPath: directory + "/" + record.name + ".out")
        }
    }

    /// Whether process group `record.pid` can only be this task's. The kernel never hands out a
    /// pid while a process group still has it as its id, so a group of that id is ours, unless
    /// the pid now belongs to another process (one with another start time): our group ended,
    /// the pid was reused, and the group of that id, if any, is someone else's.
    func groupIsOurs(_ record: LocalTaskRecord) -> Bool {
        guard record.pid > 0 else { return false }
        guard let stat = ProcessStat(pid: record.pid) else { return true }
        return record.startTicks == 0 || stat.startTicks == record.startTicks
    }

    /// Alive and still ours: the pid exists, is not a zombie, and started when ours did.
    private func isAlive(_ record: LocalTaskRecord) -> Bool {
        if records.withLock({ $0[record.name]?.record.exitedAt }) != nil { return false }
        guard record.pid > 0, let stat = ProcessStat(pid: record.pid) else { return false }
        return stat.state != "Z" && (record.startTicks == 0 || stat.startTicks == record.startTicks)
    }

    private func reaped(name: String, pid: Int32, exit: ProcessExit?) {
        defer { reaping.withLock { if $0[name] == pid { $0[name] = nil } } }
        guard let exit else { return }
        records.withLock { table in
            guard var record = read(name, into: &table), record.pid == pid else { return }
            record.exitCode = exit.code
            record.signal = exit.signal
            record.exitedAt = Date()
            try? write(record, into: &table)
        }
    }

    /// A change of a task this table knows is appended to its file (readers take its last whole
    /// line); a new task's file is made whole and renamed into place. Either way a crash of the
    /// controller leaves the old record or the new one, never half of one. Not flushed to the
    /// disk (no `fsync`): a local task's process does not outlive its host, so a record that a
    /// host crash loses names nothing left to find.
    private func write(_ record: LocalTaskRecord, into table: inout [String: (record: LocalTaskRecord, stamp: FileStamp)]) throws {
        let line = try record.line()
        let path = directory + "/" + record.name + ".json"
        func failure(_ cause: String) -> LauncherError {
            LauncherError(.unavailable, plugin: LocalLauncher.plugin, task: record.name, "cannot record task (\(cause))")
        }
        var appended = false
        do {
            if table[record.name] != nil { appended = try WholeFile.append(line, to: path) }  // false: gone meanwhile
            if !appended { try WholeFile.write(line, to: temporary(for: record.name)) }
        } catch {
            throw failure("\(error)")
        }
        if !appended && rename(temporary(for: record.name), path) != 0 {
            throw failure("rename to \(path): \(String(cString: strerror(errno)))")
        }
        if let stamp = FileStamp(path: path) { table[record.name] = (record, stamp) }
    }

    /// Where a new record is written before it is renamed into place.
    private func temporary(for name: String) -> String {
        directory + "/.tmp-\(getpid())-" + name + ".json"
    }
}

/// What tells a changed file from an unchanged one: its inode, size and modification time.
struct FileStamp: Equatable {
    var inode: UInt64
    var size: Int64
    var seconds: Int
    var nanoseconds: Int

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
    }
}
