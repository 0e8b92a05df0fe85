import RunwayModel

/// Reads the fields of one mapping node, remembering which keys were used so that the rest can
/// be reported as unknown (with a "did you mean" suggestion). Type problems become diagnostics
/// and the field reads as missing, so decoding goes on and every problem is reported.
public struct MappingReader {
    public let node: ConfigNode
    /// Where the mapping sits, for messages: `spec`, `metadata`.
    public let context: String
    /// The keys asked for, in order (a list: most are absent, and hashing each one cost more
    /// than the few comparisons `reportUnknownKeys` makes with the keys present).
    private var asked: [String] = []

    /// Nil (with a diagnostic) when `node` is not a mapping.
    public init?(_ node: ConfigNode, context: String, diagnostics: inout [Diagnostic]) {
        guard node.entries != nil else {
            diagnostics.append(
                .error("wrong-type", "'\(context)' must be a mapping, found \(node.kindDescription)", at: node.location))
            return nil
        }
        self.node = node
        self.context = context
    }

    /// The value of `key`, marking it used.
    public mutating func value(_ key: String) -> ConfigNode? {
        asked.append(key)
        return node[key]
    }

    /// The value of a key that must be present.
    public mutating func required(_ key: String, diagnostics: inout [Diagnostic], hint: String? = nil) -> ConfigNode? {
        guard let value = value(key) else {
            diagnostics.append(
                .error("missing-field", "'\(context)' is missing required key '\(key)'", at: node.location, hint: hint))
            return nil
        }
        return value
    }

    /// Reports every key that was never asked for.
    public func reportUnknownKeys(diagnostics: inout [Diagnostic]) {
        let unknown = (node.entries ?? []).filter { !asked.contains($0.key) }
        guard !unknown.isEmpty else { return }
        let known = Set(asked).sorted()
        for entry in unknown {
            let hint = Suggestion.closest(to: entry.key, in: known).map { "did you mean '\($0)'?" }
            diagnostics.append(
                .error("unknown-key", "unknown key '\(entry.key)' in '\(context)'", at: entry.keyLocation,
                    hint: hint ?? "known keys: \(known.joined(separator: ", "))"))
        }
    }
}
