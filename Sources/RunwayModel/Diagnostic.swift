/// One problem found in the manifests (or in a launcher's config), printed compiler-style:
/// `path:line:column: error: message (hint)`.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    /// A stable, machine-readable name for the kind of problem (`unknown-key`, `duplicate-name`).
    public var code: String
    public var message: String
    public var location: SourceLocation
    /// What would be right, when we can tell ("did you mean 'image'?").
    public var hint: String?

    public init(
        _ severity: Severity = .error,
        code: String,
        _ message: String,
        at location: SourceLocation,
        hint: String? = nil
    ) {
        self.severity = severity
        self.code = code
        self.message = message
        self.location = location
        self.hint = hint
    }

    public static func error(_ code: String, _ message: String, at location: SourceLocation, hint: String? = nil) -> Diagnostic {
        Diagnostic(.error, code: code, message, at: location, hint: hint)
    }

    public static func warning(_ code: String, _ message: String, at location: SourceLocation, hint: String? = nil) -> Diagnostic {
        Diagnostic(.warning, code: code, message, at: location, hint: hint)
    }

    /// The same diagnostic with every value it quotes (`found '…'`, `found the string "…"`,
    /// `got '…'`) left out: for diagnostics about a file whose values may be secret.
    public func withoutQuotedValues() -> Diagnostic {
        var redacted = self
        redacted.message = message.replacing(/(found|got) (the string )?('[^']*'|"[^"]*")/) { match in
            "\(match.output.1) a value (not shown: it was read from a config file)"
        }
        return redacted
    }

    /// The one-line form: `path:line:column: error: message (hint)`.
    public var description: String {
        var line = "\(location): \(severity.rawValue): \(message)"
        if let hint { line += " (\(hint))" }
        return line
    }
}

extension Array where Element == Diagnostic {
    /// Whether any of these diagnostics is an error (warnings do not make a load invalid).
    public var containsErrors: Bool { contains { $0.severity == .error } }

    /// Sorted by file, line and column, so output is stable whatever order files were read in.
    public func sortedByLocation() -> [Diagnostic] {
        enumerated().sorted { a, b in
            a.element.location != b.element.location
                ? a.element.location < b.element.location : a.offset < b.offset
        }.map(\.element)
    }
}
