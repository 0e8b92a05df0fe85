import RunwayModel
import Testing

@Suite struct GenerationTests {
    let base = JobSpec(
        name: "build", command: ["make", "build"], environment: ["A": "1", "B": "2"], timeout: .seconds(60),
        retries: 1, location: .file("a.yaml"))

    @Test func sameSpecSameGeneration() {
        var moved = base
        moved.location = SourceLocation(path: "elsewhere.yaml", line: 9, column: 3)
        moved.labels = ["team": "web"]
        #expect(Generation(of: base, profile: "p") == Generation(of: moved, profile: "p"))
        #expect(Generation(of: base, profile: "p").digest.count == 16)
    }

    @Test func everyRunDefiningFieldChangesTheGeneration() {
        let original = Generation(of: base, profile: "p")
        var changes: [JobSpec] = []
        var spec = base
        spec.command = ["make", "test"]; changes.append(spec)
        spec = base; spec.command = ["make build"]; changes.append(spec)
        spec = base; spec.environment["A"] = "2"; changes.append(spec)
        spec = base; spec.workingDirectory = "/src"; changes.append(spec)
        spec = base; spec.timeout = .seconds(61); changes.append(spec)
        spec = base; spec.retries = 2; changes.append(spec)
        for changed in changes {
            #expect(Generation(of: changed, profile: "p") != original, "\(changed)")
        }
        #expect(Generation(of: base, profile: "q") != original)
    }

    @Test func argumentBoundariesMatter() {
        var joined = base
        joined.command = ["ab", "c"]
        var split = base
        split.command = ["a", "bc"]
        #expect(Generation(of: joined, profile: "p") != Generation(of: split, profile: "p"))
    }
}

@Suite struct JobImageGenerationTests {
    @Test func anImageEntersTheGenerationOnlyWhenSet() {
        let location = SourceLocation.file("j.yaml")
        let plain = JobSpec(name: "build", command: ["make"], location: location)
        var withImage = plain
        withImage.image = "golang:1.23"
        var otherImage = plain
        otherImage.image = "golang:1.22"
        let generations = [plain, withImage, otherImage].map { Generation(of: $0, profile: "docker") }
        #expect(Set(generations).count == 3)
        #expect(generations[0] == Generation(of: JobSpec(name: "build", command: ["make"], location: location), profile: "docker"),
            "a job without an image keeps the generation it had")
    }
}
