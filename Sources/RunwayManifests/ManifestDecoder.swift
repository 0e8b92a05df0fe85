import RunwayModel

/// Decodes one document node into a profile or a job, reporting every problem it finds.
/// An object whose name is readable is returned even when other fields are wrong, so that
/// references to it do not raise a second, misleading error.
struct ManifestDecoder {
    static let apiVersion = "runway/v1"

    enum Kind: String, CaseIterable {
        case runnerProfile = "RunnerProfile"
        case job = "Job"
    }

    let plugins: PluginCatalog
    /// Reads a profile's `configFile` (relative to the manifest at the location given).
    var readConfigFile: (_ reference: String, _ at: SourceLocation, _ diagnostics: inout [Diagnostic]) -> ConfigNode? = { _, _, _ in nil }

    func decode(_ document: ConfigNode, diagnostics: inout [Diagnostic]) -> ManifestObject? {
        guard var top = MappingReader(document, context: "document", diagnostics: &diagnostics) else { return nil }
        defer { top.reportUnknownKeys(diagnostics: &diagnostics) }
        checkAPIVersion(top.required("apiVersion", diagnostics: &diagnostics, hint: "add 'apiVersion: runway/v1'"),
            diagnostics: &diagnostics)
        let kind = readKind(top.required("kind", diagnostics: &diagnostics, hint: "RunnerProfile or Job"),
            diagnostics: &diagnostics)
        let metadata = readMetadata(top.required("metadata", diagnostics: &diagnostics), diagnostics: &diagnostics)
        let specNode = top.required("spec", diagnostics: &diagnostics)
        guard let kind, let metadata else { return nil }
        let spec = specNode.flatMap { MappingReader($0, context: "spec", diagnostics: &diagnostics) }
        switch kind {
        case .runnerProfile:
            return decodeProfile(metadata, spec: spec, diagnostics: &diagnostics)
        case .job:
            return decodeJob(metadata, spec: spec, diagnostics: &diagnostics)
        }
    }

    private func checkAPIVersion(_ node: ConfigNode?, diagnostics: inout [Diagnostic]) {
        guard let node, let text = node.string("apiVersion", diagnostics: &diagnostics) else { return }
        if text != Self.apiVersion {
            diagnostics.append(
                .error("bad-api-version", "unsupported apiVersion '\(text)'", at: node.location,
                    hint: "expected '\(Self.apiVersion)'"))
        }
    }

    private func readKind(_ node: ConfigNode?, diagnostics: inout [Diagnostic]) -> Kind? {
        guard let node, let text = node.string("kind", diagnostics: &diagnostics) else { return nil }
        if let kind = Kind(rawValue: text) { return kind }
        let names = Kind.allCases.map(\.rawValue)
        let hint = Suggestion.closest(to: text, in: names).map { "did you mean '\($0)'?" }
        diagnostics.append(
            .error("unknown-kind", "unknown kind '\(text)'", at: node.location,
                hint: hint ?? "expected \(names.joined(separator: " or "))"))
        return nil
    }

    struct Metadata {
        var name: String
        var labels: [String: String]
        var location: SourceLocation
    }

    private func readMetadata(_ node: ConfigNode?, diagnostics: inout [Diagnostic]) -> Metadata? {
        guard let node, var fields = MappingReader(node, context: "metadata", diagnostics: &diagnostics) else {
            return nil
        }
        defer { fields.reportUnknownKeys(diagnostics: &diagnostics) }
        let labels = fields.value("labels").flatMap { $0.stringMap("metadata.labels", diagnostics: &diagnostics) }
        guard let nameNode = fields.required("name", diagnostics: &diagnostics),
            let name = nameNode.string("metadata.name", diagnostics: &diagnostics)
        else { return nil }
        guard Names.isValid(name) else {
            diagnostics.append(
                .error("bad-name", "invalid name '\(name)'", at: nameNode.location, hint: Names.rule))
            return nil
        }
        return Metadata(name: name, labels: labels ?? [:], location: nameNode.location)
    }
}

/// The naming rule of DESIGN.md, matched exactly (no prefix matching anywhere).
enum Names {
    static let rule = "names are 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"

    /// `^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`
    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func alnum(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        return alnum(bytes.first!) && alnum(bytes.last!) && bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }
}
