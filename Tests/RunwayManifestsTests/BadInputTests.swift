import Foundation
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// Hostile or broken input: every case ends with a clear diagnostic, never a crash or a hang.
@Suite struct BadInputTests {
    let loader = ManifestLoader()

    func load(_ name: String, _ bytes: [UInt8]) throws -> (ManifestLoad, String) {
        let directory = TemporaryDirectory()
        let path = directory.path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (loader.load(paths: [directory.path]), path)
    }

    func codes(_ load: ManifestLoad) -> [String] { load.diagnostics.map(\.code) }

    @Test func emptyFileIsAWarning() throws {
        let (load, path) = try load("empty.yaml", [])
        #expect(load.isValid)
        #expect(load.diagnostics.map(\.description) == ["\(path):1:1: warning: no manifest in this file"])
    }

    @Test func binaryFileIsRefusedAtItsFirstNulByte() throws {
        let (load, path) = try load("blob.yaml", Array("apiVersion: x\nab".utf8) + [0, 1, 2, 0xff])
        #expect(load.diagnostics.map(\.description) == [
            "\(path):2:3: error: not a text file (NUL byte); manifests are UTF-8 YAML or JSON"
        ])
    }

    @Test func invalidUTF8IsASyntaxError() throws {
        let (load, _) = try load("latin1.yaml", Array("name: caf".utf8) + [0xe9, 0x0a])
        #expect(codes(load) == ["yaml-syntax"])
        #expect(load.diagnostics.first?.message.contains("UTF-8") == true)
    }

    @Test func fiftyMegabyteFileIsRefusedBeforeParsing() throws {
        let line = Array("# padding padding padding padding padding padding padding padding\n".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(50 << 20)
        while bytes.count < 50 << 20 { bytes += line }
        bytes.removeLast(bytes.count - (50 << 20))
        let (load, path) = try load("huge.yaml", bytes)
        #expect(load.diagnostics.map(\.description) == [
            "\(path):1:1: error: file is 50 MiB, larger than the 4 MiB limit (split it into several files)"
        ])
    }

    @Test func tenThousandLevelsOfNestingAreBounded() throws {
        let flow = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let (load, path) = try load("deep.yaml", Array("apiVersion: runway/v1\nkind: Job\nspec: \(flow)\n".utf8))
        let deep = try #require(load.diagnostics.first { $0.code == "too-deep" })
        // The first node past the limit: the spec value is level 1, so the 64th '[' in from column 7.
        #expect(deep.description == "\(path):3:70: error: nesting deeper than 64 levels")

        let mappings = String(repeating: "{a: ", count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        let (load2, _) = try self.load("deep-map.yaml", Array("spec: \(mappings)\n".utf8))
        #expect(codes(load2).contains("too-deep"))
    }

    @Test func billionLaughsIsStoppedByTheNodeBudget() throws {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            let refs = Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ")
            text += "a\(level): &a\(level) [\(refs)]\n"
        }
        let started = ContinuousClock.now
        let (load, _) = try load("lol.yaml", Array(text.utf8))
        #expect(codes(load).contains("too-many-nodes"))
        #expect(ContinuousClock.now - started < .seconds(30), "must stop early, not expand 9^10 nodes")
    }

    @Test func selfReferencingAnchorIsBounded() throws {
        let (load, _) = try load("cycle.yaml", Array("spec: &a [x, *a]\n".utf8))
        #expect(codes(load).contains("too-deep") || codes(load).contains("yaml-syntax"))
        #expect(!load.isValid)
    }

    @Test func symlinkLoopIsReportedAndTheRestLoads() throws {
        let directory = TemporaryDirectory()
        try directory.write("sub/job.yaml", """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: p}
            spec: {plugin: local, default: true}
            """)
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/sub/loop", withDestinationPath: "..")
        let load = loader.load(paths: [directory.path])
        #expect(load.desired.profiles["p"] != nil)
        #expect(codes(load) == ["symlink-loop"])
        #expect(load.isValid, "a loop is skipped with a warning")
    }

    @Test func danglingSymlinkIsUnreadable() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/gone.yaml", withDestinationPath: "/nonexistent/x")
        let load = loader.load(paths: [directory.path])
        #expect(load.diagnostics.map(\.description) == [
            "\(directory.path)/gone.yaml:1:1: error: cannot read: No such file or directory"
        ])
    }

    @Test func fifoIsRefusedWithoutHanging() throws {
        let directory = TemporaryDirectory()
        #expect(mkfifo(directory.path + "/pipe.yaml", 0o644) == 0)
        let load = loader.load(paths: [directory.path])
        #expect(codes(load) == ["not-a-file"])
    }

    @Test func unreadableFileIsReported() throws {
        let directory = TemporaryDirectory()
        let path = try directory.write("secret.yaml", "a: 1\n")
        chmod(path, 0)
        defer { chmod(path, 0o644) }
        let load = loader.load(paths: [directory.path])
        if getuid() == 0 {
            // root reads any file: the content itself is then what gets reported.
            #expect(codes(load) == ["missing-field", "missing-field", "missing-field", "missing-field", "unknown-key"])
        } else {
            #expect(codes(load) == ["unreadable"])
        }
    }

    @Test func missingPathIsAnError() {
        let load = loader.load(paths: ["/nonexistent/runway-manifests"])
        #expect(load.diagnostics.map(\.description) == [
            "/nonexistent/runway-manifests:1:1: error: cannot read: No such file or directory"
        ])
    }

    @Test func aBrokenFileDoesNotHideTheHealthyOnes() throws {
        let directory = TemporaryDirectory()
        try directory.write("good.yaml", """
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: p}
            spec: {plugin: local, default: true}
            ---
            apiVersion: runway/v1
            kind: Job
            metadata: {name: healthy}
            spec: {command: [true]}
            """)
        try directory.write("bad.yaml", "apiVersion: runway/v1\nkind: Job\nmetadata: {name: broken\n")
        let load = loader.load(paths: [directory.path])
        #expect(!load.isValid)
        #expect(load.desired.jobs["healthy"] != nil)
        #expect(load.diagnostics.map(\.location.path) == [directory.path + "/bad.yaml"])
    }

    @Test(arguments: [
        "\t- tab",
        "key: [unclosed",
        "{\"a\": }",
        "- a\nb: c",
        "a: *undefined",
        "\u{FEFF}\u{FEFF}",
        "%YAML 9.9\n---\na: 1",
        "!!binary x",
        ":",
        "? [a]\n: b",
    ])
    func malformedInputGivesDiagnosticsNotCrashes(text: String) throws {
        let (load, _) = try load("m.yaml", Array(text.utf8))
        #expect(!load.diagnostics.isEmpty)
    }
}
