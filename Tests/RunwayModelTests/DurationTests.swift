import RunwayModel
import Testing

@Suite struct DurationTests {
    @Test(arguments: [
        ("90s", Duration.seconds(90), "1m30s"),
        ("2m", .seconds(120), "2m"),
        ("1h30m", .seconds(5400), "1h30m"),
        ("500ms", .milliseconds(500), "500ms"),
        ("1d2h", .seconds(93_600), "1d2h"),
        ("1m1s1ms", .milliseconds(61_001), "1m1s1ms"),
        ("0s", .zero, "0s"),
    ])
    func parsesAndFormats(text: String, expected: Duration, canonical: String) throws {
        let parsed = try Duration.parseManifest(text)
        #expect(parsed == expected)
        #expect(parsed.manifestDescription == canonical)
    }

    @Test(arguments: [
        ("", Duration.ManifestParseError.empty),
        ("90", .missingUnit("90")),
        ("5y", .unknownUnit("y")),
        ("1h30", .malformed("1h30")),
        ("h", .malformed("h")),
        ("1.5h", .malformed("1.5h")),
        ("-5m", .malformed("-5m")),
        ("99999999999999999d", .tooLarge),
    ])
    func rejects(text: String, error: Duration.ManifestParseError) {
        #expect(throws: error) { try Duration.parseManifest(text) }
    }
}
