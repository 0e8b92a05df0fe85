import Foundation
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

@Suite struct GenerationStorageTests {
    /// A computed digest is kept as its 64 bits and reads back as the same 16 hex digits (the
    /// SHA-256's first 8 bytes in order), equal to, ordered and encoded like the same text;
    /// any other text is kept as written.
    @Test func aDigestReadsBackAsWrittenWhicheverWayItIsKept() throws {
        let spec = JobSpec(name: "build", command: ["make"], location: .file("j.yaml"))
        let computed = Generation(of: spec, profile: "p")
        #expect(computed.digest.utf8.count == 16 && computed.digest.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(Generation(digest: computed.digest) == computed)
        #expect(Set([computed, Generation(digest: computed.digest)]).count == 1)
        for text in ["000000000000000a", "0123456789abcdef", "ffffffffffffffff", "0123456789ABCDEF", "g1", "", "01234567"] {
            let generation = Generation(digest: text)
            #expect(generation.digest == text)
            let decoded = try JSONDecoder().decode(Generation.self, from: JSONEncoder().encode(generation))
            #expect(decoded == generation && decoded.digest == text)
            #expect(String(decoding: try JSONEncoder().encode(generation), as: UTF8.self) == "{\"digest\":\"\(text)\"}")
        }
        let texts = ["000000000000000a", "00000000000000a0", "0123456789abcdef", "0123456789ABCDEF", "ab", "ffffffffffffffff", "g1"]
        #expect(texts.map { Generation(digest: $0) }.sorted().map(\.digest) == texts.sorted(), "ordered as their text")
        #expect(Generation(digest: "0123456789abcdef") != Generation(digest: "0123456789ABCDEF"))
    }
}
