import RunwayModel

/// Turns a parsed HCL file into the same source-located documents a YAML file gives, so one
/// decoder and one set of diagnostics serve both:
///
///     runner_profile "name" { plugin = "local" … }   →   apiVersion/kind/metadata/spec
///     job "name" { command = [...] … }
///
/// Attribute names and block types written in snake_case (`max_concurrent`, `start_timeout`,
/// `secret_environment`, `working_directory`, `extra_hosts`) become the YAML fields' camelCase;
/// object keys are data (environment variables, labels) and are kept as written. `labels` goes
/// to `metadata.labels`; a nested block (`config { … }`) is a mapping. `env("NAME")` is allowed
/// only as a value of `secret_environment`, where it means `{fromEnv: NAME}`.
struct HCLMapper {
    /// HCL block type → manifest kind.
    static let kinds = ["runner_profile": "RunnerProfile", "job": "Job"]

    var diagnostics: [Diagnostic] = []

    mutating func documents(_ body: HCLBody) -> [ConfigNode] {
        var documents: [ConfigNode] = []
        for item in body.items {
            switch item {
            case .attribute(let name, let at, _):
                error("expected a runner_profile or job block at the top of the file, found attribute '\(name)'", at: at)
            case .block(let type, let at, let labels, let blockBody, let broken):
                guard let kind = Self.kinds[type] else {
                    let hint = Suggestion.closest(to: type, in: Self.kinds.keys.sorted()).map { "did you mean '\($0)'?" }
                    error("unknown block type '\(type)'", at: at, hint: hint ?? "expected runner_profile or job")
                    continue
                }
                guard labels.count == 1, let label = labels.first else {
                    error("block '\(type)' takes one label, its name: \(type) \"name\" { … }", at: at)
                    continue
                }
                if !broken { documents.append(document(kind: kind, name: label, body: blockBody, at: at)) }
            }
        }
        return documents
    }

    /// A body that is a launcher config by itself (a `configFile:` of a YAML profile).
    mutating func config(_ body: HCLBody, at location: SourceLocation) -> ConfigNode {
        mapping(body, at: location, context: "config")
    }

    private mutating func document(kind: String, name: (text: String, at: SourceLocation), body: HCLBody, at: SourceLocation)
        -> ConfigNode
    {
        var metadata: [ConfigNode.Entry] = [entry("name", at: name.at, ConfigNode(.scalar(.init(name.text, isQuoted: true)), at: name.at))]
        var specItems: [HCLItem] = []
        for item in body.items {
            if case .attribute("labels", let labelsAt, let value) = item {
                metadata.append(entry("labels", at: labelsAt, node(value, allowEnv: false)))
            } else {
                specItems.append(item)
            }
        }
        let scalar = { (text: String) in ConfigNode(.scalar(.init(text, isQuoted: true)), at: at) }
        return ConfigNode(.mapping([
            entry("apiVersion", at: at, scalar(ManifestDecoder.apiVersion)),
            entry("kind", at: at, scalar(kind)),
            entry("metadata", at: at, ConfigNode(.mapping(metadata), at: at)),
            entry("spec", at: at, mapping(HCLBody(items: specItems), at: at, context: kind)),
        ]), at: at)
    }

    /// A body as a mapping: attributes and nested blocks, each name at most once.
    private mutating func mapping(_ body: HCLBody, at location: SourceLocation, context: String) -> ConfigNode {
        var entries: [ConfigNode.Entry] = []
        var seen: [String: SourceLocation] = [:]
        for item in body.items {
            let key: String
            let keyAt: SourceLocation
            let value: ConfigNode
            switch item {
            case .attribute(let name, let at, let expression):
                key = Self.fieldName(name)
                keyAt = at
                value = node(expression, allowEnv: key == "secretEnvironment")
            case .block(let type, let at, let labels, let blockBody, _):
                key = Self.fieldName(type)
                keyAt = at
                if let label = labels.first {
                    error("block '\(type)' takes no label here", at: label.at, hint: "write \(type) { … }")
                }
                value = mapping(blockBody, at: at, context: key)
            }
            if let first = seen[key] {
                error("'\(key)' is set twice in this block (first at \(first.line):\(first.column))", at: keyAt)
                continue
            }
            seen[key] = keyAt
            entries.append(entry(key, at: keyAt, value))
        }
        return ConfigNode(.mapping(entries), at: location)
    }

    private mutating func node(_ expression: HCLExpression, allowEnv: Bool) -> ConfigNode {
        switch expression {
        case .literal(let text, let quoted, let at):
            return ConfigNode(.scalar(.init(text, isQuoted: quoted)), at: at)
        case .tuple(let items, let at):
            return ConfigNode(.sequence(items.map { node($0, allowEnv: false) }), at: at)
        case .object(let pairs, let at):
            var entries: [ConfigNode.Entry] = []
            var seen: [String: SourceLocation] = [:]
            for pair in pairs {
                if let first = seen[pair.key] {
                    error("key '\(pair.key)' appears twice in this object (first at \(first.line):\(first.column))", at: pair.at)
                    continue
                }
                seen[pair.key] = pair.at
                entries.append(entry(pair.key, at: pair.at, node(pair.value, allowEnv: allowEnv)))
            }
            return ConfigNode(.mapping(entries), at: at)
        case .env(let variable, let at):
            if !allowEnv {
                error("env(\"\(variable)\") is allowed only as a value of secret_environment", at: at,
                    hint: "secrets are resolved at launch; plain values are written as they are")
            }
            let name = ConfigNode(.scalar(.init(variable, isQuoted: true)), at: at)
            return ConfigNode(.mapping([entry("fromEnv", at: at, name)]), at: at)
        }
    }

    /// `max_concurrent` → `maxConcurrent`; names that are not lowercase snake_case stay as written.
    static func fieldName(_ name: String) -> String {
        let parts = name.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count > 1, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLowercase || $0.isNumber } }) else {
            return name
        }
        return String(parts[0]) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// `maxConcurrent` → `max_concurrent`: how HCL writes a YAML field (``fieldName(_:)`` reads it back).
    static func attributeName(_ field: String) -> String {
        field.reduce(into: "") { out, character in out += character.isUppercase ? "_" + character.lowercased() : String(character) }
    }

    private func entry(_ key: String, at: SourceLocation, _ value: ConfigNode) -> ConfigNode.Entry {
        ConfigNode.Entry(key: key, keyLocation: at, value: value)
    }

    private mutating func error(_ message: String, at location: SourceLocation, hint: String? = nil) {
        diagnostics.append(.error("hcl-structure", message, at: location, hint: hint))
    }
}

/// Parsing and mapping in one call, for the loader.
enum HCLReader {
    static func documents(in bytes: [UInt8], path: String, maxNesting: Int, diagnostics: inout [Diagnostic]) -> [ConfigNode] {
        var parser = HCLParser(bytes: bytes, path: path, maxNesting: maxNesting)
        let body = parser.parseFile()
        diagnostics += parser.diagnostics
        var mapper = HCLMapper()
        let documents = mapper.documents(body)
        diagnostics += mapper.diagnostics
        return documents
    }

    static func config(in bytes: [UInt8], path: String, maxNesting: Int, diagnostics: inout [Diagnostic]) -> ConfigNode {
        var parser = HCLParser(bytes: bytes, path: path, maxNesting: maxNesting)
        let body = parser.parseFile()
        diagnostics += parser.diagnostics
        var mapper = HCLMapper()
        let node = mapper.config(body, at: SourceLocation(path: path, line: 1, column: 1))
        diagnostics += mapper.diagnostics
        return node
    }
}
