import CYAML
import RunwayModel

/// Parses YAML (and JSON, YAML's flow subset) with libyaml's document API into source-located
/// ``ConfigNode`` trees, one per document.
///
/// libyaml keeps an alias as a second reference to its anchored node, so the document itself is
/// small; expanding it into a tree is where a billion-laughs bomb would explode. The conversion
/// therefore counts nodes against `maxNodes` and bounds nesting by `maxNesting` (which also stops
/// self-referencing anchors).
struct YAMLReader {
    var maxNesting: Int
    var maxNodes: Int

    func documents(in bytes: [UInt8], path: String, diagnostics: inout [Diagnostic]) -> [ConfigNode] {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            diagnostics.append(.error("internal", "libyaml could not allocate a parser", at: .file(path)))
            return []
        }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var documents: [ConfigNode] = []
            while true {
                var document = yaml_document_t()
                guard yaml_parser_load(&parser, &document) == 1 else {
                    diagnostics.append(syntaxError(parser, path: path))
                    return documents
                }
                defer { yaml_document_delete(&document) }
                guard let root = yaml_document_get_root_node(&document) else { return documents }
                var converter = Converter(document: document, path: path, maxNesting: maxNesting, maxNodes: maxNodes)
                let node = converter.convert(root, depth: 0)
                diagnostics += converter.diagnostics
                if !node.isNull || converter.diagnostics.contains(where: { $0.severity == .error }) {
                    documents.append(node)
                }
            }
        }
    }

    private func syntaxError(_ parser: yaml_parser_t, path: String) -> Diagnostic {
        let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
        let location = SourceLocation(path: path, mark: parser.problem_mark)
        var message = "YAML syntax: \(problem)"
        if let context = parser.context.map({ String(cString: $0) }) {
            let started = SourceLocation(path: path, mark: parser.context_mark)
            message += " (\(context) started at \(started.line):\(started.column))"
        }
        return .error("yaml-syntax", message, at: location)
    }
}

extension SourceLocation {
    /// libyaml marks are 0-based; locations print 1-based.
    init(path: String, mark: yaml_mark_t) {
        self.init(path: path, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }
}

/// Turns one libyaml document into a ConfigNode tree, within the nesting and node budgets.
private struct Converter {
    var document: yaml_document_t
    let path: String
    let maxNesting: Int
    let maxNodes: Int
    var nodeCount = 0
    var diagnostics: [Diagnostic] = []
    var exhausted = false

    init(document: yaml_document_t, path: String, maxNesting: Int, maxNodes: Int) {
        self.document = document
        self.path = path
        self.maxNesting = maxNesting
        self.maxNodes = maxNodes
    }

    mutating func convert(_ node: UnsafeMutablePointer<yaml_node_t>, depth: Int) -> ConfigNode {
        let location = SourceLocation(path: path, mark: node.pointee.start_mark)
        let null = ConfigNode(.scalar(.init("", isQuoted: false)), at: location)
        nodeCount += 1
        if nodeCount > maxNodes {
            if !exhausted {
                exhausted = true
                diagnostics.append(
                    .error("too-many-nodes",
                        "document expands to more than \(maxNodes) nodes (aliases repeated too often?)",
                        at: location))
            }
            return null
        }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let scalar = node.pointee.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            return ConfigNode(.scalar(.init(text, isQuoted: scalar.style != YAML_PLAIN_SCALAR_STYLE)), at: location)
        case YAML_SEQUENCE_NODE, YAML_MAPPING_NODE:
            guard depth < maxNesting else {
                diagnostics.append(.error("too-deep", "nesting deeper than \(maxNesting) levels", at: location))
                return null
            }
            return node.pointee.type == YAML_SEQUENCE_NODE
                ? sequence(node, depth: depth, at: location) : mapping(node, depth: depth, at: location)
        default:
            return null
        }
    }

    private mutating func sequence(_ node: UnsafeMutablePointer<yaml_node_t>, depth: Int, at location: SourceLocation)
        -> ConfigNode
    {
        var items: [ConfigNode] = []
        var item = node.pointee.data.sequence.items.start
        while let current = item, current != node.pointee.data.sequence.items.top, !exhausted {
            if let child = yaml_document_get_node(&document, current.pointee) {
                items.append(convert(child, depth: depth + 1))
            }
            item = current + 1
        }
        return ConfigNode(.sequence(items), at: location)
    }

    private mutating func mapping(_ node: UnsafeMutablePointer<yaml_node_t>, depth: Int, at location: SourceLocation)
        -> ConfigNode
    {
        var entries: [ConfigNode.Entry] = []
        var merged: [ConfigNode.Entry] = []
        var pair = node.pointee.data.mapping.pairs.start
        while let current = pair, current != node.pointee.data.mapping.pairs.top, !exhausted {
            pair = current + 1
            guard let keyNode = yaml_document_get_node(&document, current.pointee.key),
                let valueNode = yaml_document_get_node(&document, current.pointee.value)
            else { continue }
            let key = convert(keyNode, depth: depth + 1)
            let value = convert(valueNode, depth: depth + 1)
            guard let scalar = key.scalar else {
                diagnostics.append(.error("bad-key", "mapping keys must be scalars, found \(key.kindDescription)", at: key.location))
                continue
            }
            if scalar.text == "<<" && !scalar.isQuoted {
                merged += mergeEntries(value)
                continue
            }
            if let first = entries.first(where: { $0.key == scalar.text }) {
                diagnostics.append(
                    .error("duplicate-key",
                        "duplicate key '\(scalar.text)' (first at \(first.keyLocation.line):\(first.keyLocation.column))",
                        at: key.location))
                continue
            }
            entries.append(.init(key: scalar.text, keyLocation: key.location, value: value))
        }
        // YAML merge keys: merged entries fill in what the mapping does not set itself.
        let own = Set(entries.map(\.key))
        var seen = Set<String>()
        entries += merged.filter { !own.contains($0.key) && seen.insert($0.key).inserted }
        return ConfigNode(.mapping(entries), at: location)
    }

    private mutating func mergeEntries(_ value: ConfigNode) -> [ConfigNode.Entry] {
        switch value.value {
        case .mapping(let entries):
            return entries
        case .sequence(let items) where items.allSatisfy({ $0.entries != nil }):
            return items.flatMap { $0.entries! }
        default:
            diagnostics.append(
                .error("bad-merge", "a '<<' merge key takes a mapping or a list of mappings", at: value.location))
            return []
        }
    }
}

extension ConfigNode {
    /// The first document of a YAML text (a config snippet), with the same limits and
    /// diagnostics as manifest files; nil when there is none or it cannot be read.
    public static func parseYAML(_ text: String, path: String, diagnostics: inout [Diagnostic]) -> ConfigNode? {
        let limits = ManifestLoader.Configuration()
        return YAMLReader(maxNesting: limits.maxNesting, maxNodes: limits.maxNodesPerDocument)
            .documents(in: Array(text.utf8), path: path, diagnostics: &diagnostics).first
    }
}
