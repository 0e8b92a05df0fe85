import Foundation

/// What the local launcher remembers of one task, one file per task under its directory: JSON
/// lines, the newest last (a change is appended, so a task's life allocates one inode, not one
/// per change).
struct LocalTaskRecord: Codable, Sendable, Hashable {
    var name: String
    var pid: Int32
    /// The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22): with the
    /// pid, it tells our process from a later one that reused the pid.
    var startTicks: UInt64
    var labels: [String: String]
    var startedAt: Date
    var graceMilliseconds: Int64
    var exitCode: Int32?
    var signal: Int32?
    var exitedAt: Date?
    /// Set in the environment of the process a spawn starts (`RUNWAY_LOCAL_SPAWN`), and
    /// recorded before it starts: a controller stopped between the spawn and the record of its
    /// pid leaves a record with pid 0 by which the next one finds the process.
    var spawnToken: String?

    var id: String { "\(pid)-\(startTicks)" }
    var grace: Duration { .milliseconds(graceMilliseconds) }

    /// The record as one line of a record file. It begins with a newline too, so a line a crash
    /// cut short before it stays a line of its own, which readers skip.
    func line() throws -> Data {
        var line = Data("\n".utf8)
        line.append(try JSONEncoder().encode(self))
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// The newest whole record in a record file's content: its last line that decodes (a file
    /// written before records were appended holds one JSON object and no newline).
    static func newest(in data: Data) -> LocalTaskRecord? {
        let decoder = JSONDecoder()
        for line in data.split(separator: UInt8(ascii: "\n")).reversed() where !line.isEmpty {
            if let record = try? decoder.decode(LocalTaskRecord.self, from: Data(line)) { return record }
        }
        return nil
    }
}

/// A process's entry in `/proc`, as far as the launcher needs it.
struct ProcessStat {
    /// `R`, `S`, `D`, `Z` (zombie), `T`, …
    var state: Character
    var startTicks: UInt64

    /// Reads `/proc/<pid>/stat`; nil when there is no such process.
    init?(pid: Int32) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) ": state is field 3; starttime is field 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let ticks = UInt64(fields[19]) else { return nil }
        self.state = state
        self.startTicks = ticks
    }
}
