import Foundation
import RunwayTestSupport
import Testing

@testable import RunwayLaunchers

/// A local stop signals only what is still its task's: after the task's pid was reused by
/// another process that leads a group of its own, the stop leaves that group alone.
@Suite struct LocalTaskTableTests {
    /// `sleep 60` leading a process group of its own (pgid = its pid), as a process that reused
    /// a task's pid could: Foundation's `Process` starts each child in a new group.
    static func groupLeader() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["60"]
        try process.run()
        let stat = try String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)
        let pgid = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")[2]
        #expect(pgid == "\(process.processIdentifier)", "the premise: it leads its own group")
        return process
    }

    static func record(of process: Process, sameStart: Bool) throws -> LocalTaskRecord {
        let stat = try #require(ProcessStat(pid: process.processIdentifier))
        return LocalTaskRecord(
            name: "runway-reused-00112233-1", pid: process.processIdentifier, startTicks: stat.startTicks + (sameStart ? 0 : 1),
            labels: [:], startedAt: Date(), graceMilliseconds: 200)
    }

    @Test func aReusedPidsGroupIsNotSignalled() async throws {
        let scratch = FileManager.default.temporaryDirectory.path + "/runway-table-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let table = LocalTaskTable(directory: scratch)
        let stranger = try Self.groupLeader()
        defer {
            stranger.terminate()
            stranger.waitUntilExit()
        }
        // Our task's record names the stranger's pid, but another start time: the pid was reused.
        let reused = try Self.record(of: stranger, sameStart: false)
        #expect(!table.groupIsOurs(reused))
        try await table.stop(reused)
        #expect(stranger.isRunning, "a process that merely reused the pid keeps running")

        // The same process recorded with its own start time is ours, and the stop ends it.
        let own = try Self.record(of: stranger, sameStart: true)
        #expect(table.groupIsOurs(own))
        try await table.stop(own)
        stranger.waitUntilExit()
        #expect(stranger.terminationReason == .uncaughtSignal)
    }

    /// A controller stopped between a spawn and the record of its pid: the record written before
    /// the spawn lets the next controller find the process by its token, see it run, and stop it;
    /// a record whose process never started counts as starting, then as an interrupted start.
    @Test func aSpawnWhosePidWasNeverRecordedIsFoundByItsToken() async throws {
        let scratch = FileManager.default.temporaryDirectory.path + "/runway-table-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let token = UUID().uuidString
        let orphan = Process()
        orphan.executableURL = URL(fileURLWithPath: "/bin/sleep")
        orphan.arguments = ["60"]
        orphan.environment = [LocalTaskTable.spawnVariable: token]
        try orphan.run()
        defer {
            if orphan.isRunning { orphan.terminate() }
            orphan.waitUntilExit()
        }
        // Until the child has exec'd, /proc shows the parent's environment (a loaded machine
        // can take a while); a controller looking later always finds the process's own.
        let needle = Data("\(LocalTaskTable.spawnVariable)=\(token)".utf8)
        #expect(await RunningCommand.until(timeout: .seconds(60)) {
            FileManager.default.contents(atPath: "/proc/\(orphan.processIdentifier)/environ")?.range(of: needle) != nil
        })
        let interrupted = LocalTaskRecord(
            name: "runway-orphan-00112233-1", pid: 0, startTicks: 0, labels: [:], startedAt: Date(), graceMilliseconds: 200,
            spawnToken: token)
        try JSONEncoder().encode(interrupted).write(to: URL(fileURLWithPath: scratch + "/runway-orphan-00112233-1.json"))
        let table = LocalTaskTable(directory: scratch)
        let found = try #require(try table.all().map(table.settled).first)
        #expect(found.pid == orphan.processIdentifier && found.startTicks > 0)
        #expect(table.status(of: found).state == .running)
        #expect(try table.record(named: found.name)?.pid == orphan.processIdentifier, "written back")
        try await table.stop(try #require(try table.record(named: found.name)))
        orphan.waitUntilExit()
        #expect(orphan.terminationReason == .uncaughtSignal)

        // No process carries the token: starting for a while, then a start that never happened,
        // forgotten (so the attempt's start is resumed).
        var lost = interrupted
        lost.name = "runway-lost-00112233-1"
        lost.spawnToken = UUID().uuidString
        lost.startedAt = Date()  // just written (the orphan's part above may have taken a while)
        try JSONEncoder().encode(lost).write(to: URL(fileURLWithPath: scratch + "/\(lost.name).json"))
        #expect(table.status(of: table.settled(lost)).state == .pending && !table.forgetIfAbandoned(lost))
        try await table.stop(lost)  // nothing to signal: pid 0 is never used as a group
        #expect(try table.record(named: lost.name) == nil)
        lost.startedAt = Date().addingTimeInterval(-(LocalTaskTable.spawnPatience + 1))
        try JSONEncoder().encode(lost).write(to: URL(fileURLWithPath: scratch + "/\(lost.name).json"))
        #expect(table.forgetIfAbandoned(table.settled(lost)))
        #expect(try table.record(named: lost.name) == nil)
    }

    /// A task's changes are appended to its one file (its start, its pid, its exit), and a
    /// reader takes the last whole line: a line a crash cut short is skipped.
    @Test func aTasksRecordsAreLinesOfOneFileAndACutLineIsSkipped() async throws {
        let scratch = TemporaryDirectory()
        let table = LocalTaskTable(directory: scratch.path)
        let name = "runway-lines-00112233-1"
        let path = scratch.path + "/" + name + ".json"
        let started = try table.spawn(name: name, labels: [:], argv: ["/bin/true"], environment: [:], grace: .seconds(1))
        let inode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64)
        #expect(await RunningCommand.until(timeout: .seconds(60)) { table.status(of: started).state == .exited })
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3, "start, pid, exit: \(lines)")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64 == inode, "one file, appended to")
        let exited = try #require(try LocalTaskTable(directory: scratch.path).record(named: name), "read by another table")
        #expect(exited.pid == started.pid && exited.exitCode == 0 && exited.exitedAt != nil)

        // A crash in the middle of an append leaves half a line: the last whole one is read.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n{\"name\":\"\(name)\",\"pid\":".utf8))
        try handle.close()
        #expect(try LocalTaskTable(directory: scratch.path).record(named: name) == exited)
        try await table.stop(exited)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
