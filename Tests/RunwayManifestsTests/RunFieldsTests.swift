import Foundation
import RunwayManifests
import RunwayModel
import RunwayTestSupport
import Testing

/// The fields that say when a job runs: `rerun`, `after`, `schedule` and its companions,
/// `historyLimit`; none of them part of the generation, each wrong one named at its place.
@Suite struct RunFieldsTests {
    func load(_ files: [String: String]) throws -> (ManifestLoad, String) {
        let directory = TemporaryDirectory()
        for (name, text) in files { try text.write(toFile: directory.path + "/" + name, atomically: true, encoding: .utf8) }
        return (ManifestLoader().load(paths: [directory.path]), directory.path)
    }

    static let profile = "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: local}\nspec: {plugin: local, default: true}\n"

    static func job(_ name: String, _ extra: String = "") -> String {
        "apiVersion: runway/v1\nkind: Job\nmetadata: {name: \(name)}\nspec:\n  command: [\"true\"]\n" + extra
    }

    @Test func fieldsAreReadAndLeaveTheGenerationAlone() throws {
        let (plain, _) = try load(["p.yaml": Self.profile, "j.yaml": Self.job("nightly")])
        let (load, _) = try load(["p.yaml": Self.profile, "j.yaml": Self.job("nightly", """
              schedule: "0 2 * * *"
              timeZone: Europe/Berlin
              concurrencyPolicy: Replace
              startingDeadline: 10m
              suspend: true
              rerun: "2026-11-30"
              historyLimit: 3
            """)])
        #expect(load.diagnostics.isEmpty, "\(load.diagnostics)")
        let job = try #require(load.desired.jobs["nightly"])
        #expect(job.generation == plain.desired.jobs["nightly"]?.generation)
        let schedule = try #require(job.spec.schedule)
        #expect(schedule.cron.text == "0 2 * * *" && schedule.timeZone.identifier == "Europe/Berlin")
        #expect(schedule.concurrencyPolicy == .replace && schedule.startingDeadline == .seconds(600) && schedule.suspend)
        #expect(job.spec.rerun == "2026-11-30" && job.spec.historyLimit == 3)
    }

    @Test func aCycleIsNamedWholeAtItsPlaceAndTheRestLoads() throws {
        let (load, path) = try load([
            "p.yaml": Self.profile,
            "a.yaml": Self.job("a", "  after: [b]\n"),
            "b.yaml": Self.job("b", "  after: [c]\n"),
            "c.yaml": Self.job("c", "  after: [a]\n"),
            "d.yaml": Self.job("d", "  after: [c]\n"),
            "ok.yaml": Self.job("ok"),
        ])
        #expect(load.diagnostics.map(\.description) == [
            "\(path)/a.yaml:6:11: error: jobs depend on each other in a cycle: a → b → c → a (remove one of these names from its job's 'spec.after')",
            "\(path)/d.yaml:6:11: error: job 'd' runs after 'c', which is left out for the errors above",
        ])
        #expect(load.desired.jobs.keys.sorted() == ["ok"])
    }

    @Test func unknownNamesAndWrongFieldsAreErrorsAtTheirPlace() throws {
        let (load, path) = try load([
            "p.yaml": Self.profile,
            "a.yaml": Self.job("a", "  after: [bulid, a]\n"),
            "build.yaml": Self.job("build"),
            "s.yaml": Self.job("s", "  schedule: \"61 * * * *\"\n  concurrencyPolicy: forbid\n"),
            "t.yaml": Self.job("t", "  suspend: true\n  timeZone: Mars/Olympus\n"),
        ])
        #expect(load.diagnostics.map(\.description).sorted() == [
            "\(path)/a.yaml:6:18: error: job 'a' lists itself in 'spec.after'",
            "\(path)/a.yaml:6:11: error: job 'a' runs after 'bulid', which does not exist (did you mean 'build'?)",
            "\(path)/s.yaml:6:13: error: 'spec.schedule': minute field '61': '61' is not in 0-59 (5 fields (minute hour day-of-month month day-of-week), or @hourly, @daily, @weekly, @monthly, @yearly)",
            "\(path)/t.yaml:6:12: error: 'spec.suspend' applies only to a scheduled job (add 'spec.schedule' (cron, like \"0 2 * * *\"), or remove 'spec.suspend')",
            "\(path)/t.yaml:7:13: error: 'spec.timeZone' applies only to a scheduled job (add 'spec.schedule' (cron, like \"0 2 * * *\"), or remove 'spec.timeZone')",
        ].sorted())
        #expect(!load.isValid)
    }

    @Test func aLongChainLoadsWithoutDeepRecursion() throws {
        var files = ["p.yaml": Self.profile]
        for index in 0..<3000 { files["j\(index).yaml"] = Self.job("j\(index)", index == 0 ? "" : "  after: [j\(index - 1)]\n") }
        let (load, _) = try load(files)
        #expect(load.diagnostics.isEmpty)
        #expect(load.desired.jobs.count == 3000)
    }
}
