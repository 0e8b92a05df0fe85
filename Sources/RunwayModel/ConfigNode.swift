/// One node of a parsed manifest (YAML, JSON or HCL): a scalar, a sequence or a mapping,
/// each knowing where it was written. Launcher configs travel in this form, so a launcher's
/// `validate(config:)` can point at the exact line of a bad key.
public struct ConfigNode: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case scalar(Scalar)
        case sequence([ConfigNode])
        case mapping([Entry])
    }

    /// A scalar's text as written, and whether it was quoted (a quoted `"true"` is a string).
    public struct Scalar: Sendable, Hashable {
        public var text: String
        public var isQuoted: Bool

        public init(_ text: String, isQuoted: Bool) {
            self.text = text
            self.isQuoted = isQuoted
        }
    }

    /// One `key: value` pair of a mapping, keys kept in source order.
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: ConfigNode

        public init(key: String, keyLocation: SourceLocation, value: ConfigNode) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    /// The entries of a mapping, or nil for scalars and sequences.
    public var entries: [Entry]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    /// The items of a sequence, or nil for scalars and mappings.
    public var items: [ConfigNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    /// The scalar, or nil for sequences and mappings.
    public var scalar: Scalar? {
        if case .scalar(let scalar) = value { return scalar }
        return nil
    }

    /// True for an unquoted `null`, `~` or empty scalar.
    public var isNull: Bool {
        guard let scalar, !scalar.isQuoted else { return false }
        return scalar.text.isEmpty || scalar.text == "~" || scalar.text == "null" || scalar.text == "Null"
            || scalar.text == "NULL"
    }

    /// The value of a mapping's key, or nil.
    public subscript(key: String) -> ConfigNode? {
        entries?.first { $0.key == key }?.value
    }

    /// What kind of node this is, in words for diagnostics ("a mapping", "a list", "a string").
    public var kindDescription: String {
        switch value {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar: isNull ? "null" : "a scalar"
        }
    }
}
