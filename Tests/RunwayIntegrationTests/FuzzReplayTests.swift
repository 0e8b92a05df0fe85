import Foundation
import RunwayFuzzing
import RunwayTestSupport
import Testing

/// Inputs kept from fuzzing (Tests/Fuzz/TARGET/: crashes and hangs once found, and tricky
/// seeds) replay through the fuzz targets' own bodies and end cleanly.
@Suite struct FuzzReplayTests {
    @Test(arguments: ["hcl", "yaml"])
    func manifestReproducersEndInDiagnostics(target: String) throws {
        for (file, bytes) in try Self.inputs(target) {
            let load = target == "hcl" ? FuzzTargets.hcl(bytes) : FuzzTargets.yaml(bytes)
            // Each kept input is broken on purpose: it must end in diagnostics, not a crash or a hang.
            #expect(!load.isValid, "\(file)")
        }
    }

    /// Runner API requests end in an HTTP answer: never a crash, a hang or a 500.
    @Test func runnerAPIReproducersGetAnAnswer() async throws {
        for (file, bytes) in try Self.inputs("runner-api") {
            // The target waits for its answer (libFuzzer calls it synchronously): not on a pool thread.
            let status = try await onAThreadOfItsOwn { FuzzTargets.runnerAPI(bytes) }
            #expect((200..<500).contains(status), "\(file): HTTP \(status)")
        }
    }

    static func inputs(_ target: String) throws -> [(String, [UInt8])] {
        let directory = Repository.path("Tests/Fuzz/\(target)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(!files.isEmpty)
        return files.map { ($0, Array(FileManager.default.contents(atPath: directory + "/" + $0) ?? Data())) }
    }
}
