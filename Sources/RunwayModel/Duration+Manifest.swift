/// Durations as manifests write them: a sequence of number+unit pairs, `500ms`, `90s`, `2m`,
/// `1h30m`, `1d`. Units: `ms`, `s`, `m`, `h`, `d`. No sign, no bare numbers.
extension Duration {
    /// Why a duration text could not be read.
    public enum ManifestParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case missingUnit(String)
        case unknownUnit(String)
        case malformed(String)
        case tooLarge

        public var description: String {
            switch self {
            case .empty: "empty duration"
            case .missingUnit(let text): "'\(text)' has no unit (did you mean '\(text)s'?)"
            case .unknownUnit(let unit): "unknown duration unit '\(unit)' (use ms, s, m, h or d)"
            case .malformed(let text): "'\(text)' is not a duration like 90s, 2m or 1h30m"
            case .tooLarge: "duration is too large"
            }
        }
    }

    private static let unitMilliseconds: [String: Int64] = [
        "ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
    ]

    /// Reads `1h30m`-style text. A leading `-` is malformed: durations in manifests are never negative.
    public static func parseManifest(_ text: String) throws(ManifestParseError) -> Duration {
        guard !text.isEmpty else { throw .empty }
        var total: Int64 = 0
        var chars = Substring(text)
        while !chars.isEmpty {
            let digits = chars.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let amount = Int64(digits) else { throw .malformed(text) }
            chars = chars.dropFirst(digits.count)
            let unit = chars.prefix { $0.isLetter }
            guard !unit.isEmpty else {
                throw chars.isEmpty && total == 0 ? .missingUnit(text) : .malformed(text)
            }
            guard let scale = unitMilliseconds[String(unit)] else { throw .unknownUnit(String(unit)) }
            chars = chars.dropFirst(unit.count)
            let (part, overflowPart) = amount.multipliedReportingOverflow(by: scale)
            let (sum, overflowSum) = total.addingReportingOverflow(part)
            guard !overflowPart, !overflowSum else { throw .tooLarge }
            total = sum
        }
        return .milliseconds(total)
    }

    /// Seconds as a `TimeInterval`, for date arithmetic and sleeps.
    public var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole milliseconds (sub-millisecond parts are dropped).
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    /// The canonical manifest text: `1h30m`, `90s` prints as `1m30s`, `0s` for zero.
    public var manifestDescription: String {
        var rest = wholeMilliseconds
        guard rest > 0 else { return rest == 0 ? "0s" : "-" + (Duration.zero - self).manifestDescription }
        var text = ""
        for (unit, scale) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)]
        where rest >= scale {
            text += "\(rest / scale)\(unit)"
            rest %= scale
        }
        return text
    }
}
