import Foundation
import RunwayModel
import RunwayProcess
import Synchronization

/// The local launcher's tasks: records on disk (so they outlive the controller), a copy in
/// memory, and one reaper thread per child that records its exit status.
final class LocalTaskTable: Sendable {
    let directory: String
    /// Records by task name; the mutex guards the dictionary and the files it mirrors.
    private let records: Mutex<[String: LocalTaskRecord]>
    /// Names of this process's own children whose reaper has not recorded their exit yet.
    private let reaping = Mutex<Set<String>>([])

    init(directory: String) {
        self.directory = directory
        var loaded: [String: LocalTaskRecord] = [:]
        let decoder = JSONDecoder()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".json") {
            if let data = FileManager.default.contents(atPath: directory + "/" + name),
                let record = try? decoder.decode(LocalTaskRecord.self, from: data)
            {
                loaded[record.name] = record
            }
        }
        records = Mutex(loaded)
    }

    func record(named name: String) throws -> LocalTaskRecord? { records.withLock { $0[name] } }

    func all() throws -> [LocalTaskRecord] { records.withLock { Array($0.values) } }

    /// Starts `argv` in a new process group, records it, and starts its reaper.
    func spawn(name: String, labels: [String: String], argv: [String], environment: [String: String], grace: Duration)
        throws -> LocalTaskRecord
    {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var options = ProcessSpawner.Options(argv: argv, environment: environment)
        options.newProcessGroup = true  // a stop signals the group: the runner and the job it runs
        options.stdout = .file(directory + "/" + name + ".out", append: true)
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(options)
        } catch {
            throw LauncherError(.invalidSpec, plugin: LocalLauncher.plugin, task: name, "\(error)")
        }
        let record = LocalTaskRecord(
            name: name, pid: pid, startTicks: ProcessStat(pid: pid)?.startTicks ?? 0, labels: labels, startedAt: Date(),
            graceMilliseconds: grace.wholeMilliseconds)
        try records.withLock { table in
            table[name] = record
            try write(record)
        }
        reaping.withLock { _ = $0.insert(name) }
        let reaper = Thread { [self] in reap(name: name, pid: pid) }
        reaper.name = "runway-reaper-\(pid)"
        reaper.start()
        return record
    }

    /// Running, or exited with its status (or vanished, when it was not our child).
    func status(of record: LocalTaskRecord) -> (state: ObservedTask.State, exitCode: Int32?, reason: String?) {
        let current = records.withLock { $0[record.name] } ?? record
        if current.exitedAt != nil {
            return (.exited, current.exitCode, current.signal.map { "killed by signal \($0)" })
        }
        if isAlive(current) { return (.running, nil, nil) }
        // Our own child that just ended: its reaper is recording the exit status right now.
        if reaping.withLock({ $0.contains(record.name) }) { return (.running, nil, nil) }
        return (.exited, nil, "process vanished")
    }

    /// SIGTERM to the task's process group, SIGKILL after its grace, then forget it.
    func stop(_ record: LocalTaskRecord) async throws {
        if isAlive(record) {
            kill(-record.pid, SIGTERM)
            kill(-record.pid, SIGCONT)  // a stopped (frozen) process must run to handle SIGTERM
            let deadline = ContinuousClock.now + record.grace
            while isAlive(record) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        }
        // Whatever is left of the group (the runner, or a job it started) is killed.
        if isAlive(record) || kill(-record.pid, 0) == 0 {
            kill(-record.pid, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(5)
            while isAlive(record) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        }
        try records.withLock { table in
            table[record.name] = nil
            let path = directory + "/" + record.name + ".json"
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try? FileManager.default.removeItem(atPath: directory + "/" + record.name + ".out")
        }
    }

    /// Alive and still ours: the pid exists, is not a zombie, and started when ours did.
    private func isAlive(_ record: LocalTaskRecord) -> Bool {
        if records.withLock({ $0[record.name]?.exitedAt }) != nil { return false }
        guard let stat = ProcessStat(pid: record.pid) else { return false }
        return stat.state != "Z" && (record.startTicks == 0 || stat.startTicks == record.startTicks)
    }

    private func reap(name: String, pid: Int32) {
        defer { reaping.withLock { _ = $0.remove(name) } }
        guard let exit = ProcessSpawner.wait(pid) else { return }
        records.withLock { table in
            guard var record = table[name], record.pid == pid else { return }
            record.exitCode = exit.code
            record.signal = exit.signal
            record.exitedAt = Date()
            table[name] = record
            try? write(record)
        }
    }

    /// Atomic replace: a crash leaves the old file or the new one, never half of one.
    private func write(_ record: LocalTaskRecord) throws {
        let data = try JSONEncoder().encode(record)
        let path = directory + "/" + record.name + ".json"
        let temporary = directory + "/.tmp-" + record.name + ".json"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw LauncherError(.unavailable, plugin: LocalLauncher.plugin, task: record.name, "cannot record task: \(String(cString: strerror(errno)))")
        }
    }
}
