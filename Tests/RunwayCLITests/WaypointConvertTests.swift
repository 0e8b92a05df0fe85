import Foundation
import RunwayTestSupport
import Testing

/// `runway convert --from waypoint`: each of Samples/waypoint (a runner profile per Waypoint task
/// launcher, with every key Waypoint documents for it) becomes a manifest `runway validate`
/// takes, and every key that could not be mapped is named, with its reason, on stderr and atop
/// the manifest.
@Suite struct WaypointConvertTests {
    @Test(arguments: ["docker", "kubernetes", "nomad", "aws-ecs"])
    func aWaypointProfileBecomesAValidManifest(plugin: String) async throws {
        let sample = Repository.path("Samples/waypoint/\(plugin).json")
        let converted = try await RunwayExecutable.run(["convert", "--from", "waypoint", sample])
        #expect(converted.status == 0, "\(converted.stderr)")
        let manifest = Repository.relativize(converted.stdout)
        if let failure = Golden.check(manifest, against: "waypoint/\(plugin).yaml") { Issue.record(Comment(rawValue: failure)) }
        let scratch = TemporaryDirectory()
        let file = try scratch.write("\(plugin).yaml", converted.stdout)
        let validated = try await RunwayExecutable.run(["validate", file])
        #expect(validated.status == 0, "\(validated.stdout)\(validated.stderr)")
        // Every key not mapped: once on stderr, once atop the manifest, each with a reason.
        let named = converted.stderr.split(separator: "\n").map { $0.replacingOccurrences(of: "\(sample): not mapped: ", with: "") }
        let noted = converted.stdout.split(separator: "\n").filter { $0.hasPrefix("# not mapped: ") }.map { $0.dropFirst("# not mapped: ".count) }
        #expect(named.map { Substring($0) } == noted)
        #expect(named.allSatisfy { $0.contains("': ") }, "\(named)")
    }

    @Test func whatIsNotAWaypointProfileIsRefusedSayingWhy() async throws {
        let scratch = TemporaryDirectory()
        let unknown = try scratch.write("unknown.json", #"{"name": "x", "pluginType": "lambda"}"#)
        let result = try await RunwayExecutable.run(["convert", "--from", "waypoint", unknown])
        #expect(result.status == 2)
        #expect(result.stderr.contains("pluginType 'lambda' has no Runway launcher (known: aws-ecs, docker, kubernetes, nomad)"), "\(result.stderr)")
        let garbage = try scratch.write("garbage.json", "runner profile: yes")
        #expect(try await RunwayExecutable.run(["convert", "--from", "waypoint", garbage]).stderr.contains("not the JSON object"))
    }
}
