/// Byte sizes written the Kubernetes way operators already use: a plain number of bytes, or one
/// with a binary (`Ki`…`Ti`) or decimal (`k`/`K`…`T`) suffix: `512Mi`, `100Mi`, `1Gi`, `500M`.
public enum ByteCount {
    static let suffixes: [(String, Int64)] = [
        ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
        ("k", 1_000), ("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
    ]

    /// The bytes `text` says, rounded up; nil unless it is a positive size.
    public static func parse(_ text: String) -> Int64? {
        var number = Substring(text)
        var unit: Int64 = 1
        if let (suffix, factor) = suffixes.first(where: { text.hasSuffix($0.0) }) {
            number = number.dropLast(suffix.count)
            unit = factor
        }
        guard let value = Double(number), value > 0, value.isFinite, value * Double(unit) < 9e18 else { return nil }
        return Int64((value * Double(unit)).rounded(.up))
    }

    /// `100 MiB`, `1 GiB`, `512 KiB` when exact, else `N bytes`.
    public static func describe(_ bytes: Int) -> String {
        for (name, factor) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes >= factor && bytes % factor == 0 {
            return "\(bytes / factor) \(name)"
        }
        return "\(bytes) bytes"
    }
}
