import RunwayModel

/// A recursive-descent parser for the HCL native syntax subset of Runway's manifests. Every
/// problem becomes a diagnostic with its line and column; after an error in one attribute or
/// block the parser skips to the end of that line and goes on, so a file's errors are reported
/// together. Nesting is bounded (`maxNesting`), so hostile input cannot exhaust the stack.
struct HCLParser {
    let path: String
    let maxNesting: Int
    let bytes: [UInt8]
    var index = 0
    var line = 1
    var column = 1
    var depth = 0
    var diagnostics: [Diagnostic] = []
    /// Set by an error that leaves nothing sensible to recover to (an unterminated heredoc).
    var stopped = false
    /// Set by an unterminated string: the rest of its line cannot be read.
    var abandonedLine = false

    init(bytes: [UInt8], path: String, maxNesting: Int = 64) {
        self.bytes = bytes
        self.path = path
        self.maxNesting = maxNesting
    }

    /// Parses the whole file as a body.
    mutating func parseFile() -> HCLBody {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }  // a UTF-8 byte order mark
        guard String(validating: bytes[index...], as: UTF8.self) != nil else {
            fail("the file is not valid UTF-8")
            return HCLBody()
        }
        return parseBody(closing: false)
    }

    // MARK: - Bodies

    /// Attributes and blocks, one per line, up to `}` (when `closing`) or the end of the file.
    mutating func parseBody(closing: Bool) -> HCLBody {
        var body = HCLBody()
        while !stopped {
            skipTrivia(newlines: true)
            guard let byte = peek() else {
                if closing { fail("expected '}' to close the block before the end of the file") }
                return body
            }
            if byte == UInt8(ascii: "}") {
                if closing { return body }
                fail("unexpected '}': no block is open here")
                advance()
                continue
            }
            let startIndex = index
            // Only the item's own failure is recovered from here; errors inside a nested block
            // that parsed to its '}' were recovered from inside it.
            var failed = true
            if let item = parseItem() {
                body.items.append(item)
                failed = !expectEndOfItem(closing: closing)
            }
            if failed && !stopped { recoverToNextLine(openedSince: startIndex) }
            if index == startIndex && !stopped { advance() }  // always make progress
        }
        return body
    }

    mutating func parseItem() -> HCLItem? {
        let start = location
        guard let name = identifier() else {
            fail("expected an attribute name or a block type, found \(describeNext())")
            return nil
        }
        skipTrivia(newlines: false)
        switch peek() {
        case UInt8(ascii: "="):
            advance()
            skipTrivia(newlines: false)
            guard let value = parseExpression() else { return nil }
            return .attribute(name: name, at: start, value: value)
        case UInt8(ascii: "{"), UInt8(ascii: "\""):
            return parseBlock(type: name, at: start)
        default:
            if let next = peek(), isIdentifierStart(next) { return parseBlock(type: name, at: start) }
            fail("expected '=' or '{' after block type \"\(name)\", found \(describeNext())")
            return nil
        }
    }

    mutating func parseBlock(type: String, at start: SourceLocation) -> HCLItem? {
        var labels: [(text: String, at: SourceLocation)] = []
        while let byte = peek(), byte != UInt8(ascii: "{") {
            let labelStart = location
            if byte == UInt8(ascii: "\"") {
                guard let text = quotedString() else { return nil }
                labels.append((text, labelStart))
            } else if let text = identifier() {
                labels.append((text, labelStart))
            } else {
                fail("expected a block label (a quoted string) or '{' after block type \"\(type)\", found \(describeNext())")
                return nil
            }
            skipTrivia(newlines: false)
        }
        guard peek() == UInt8(ascii: "{") else {
            fail("expected '{' to open block \"\(type)\", found \(describeNext())")
            return nil
        }
        let open = location
        advance()
        guard enter(at: open) else { return nil }
        defer { depth -= 1 }
        let errorsBefore = diagnostics.count
        let body = parseBody(closing: true)
        guard !stopped, peek() == UInt8(ascii: "}") else { return nil }
        advance()
        return .block(type: type, at: start, labels: labels, body: body, broken: diagnostics.count > errorsBefore)
    }

    /// After an attribute or block: a newline, the end of the file, or the `}` of a one-line block.
    mutating func expectEndOfItem(closing: Bool) -> Bool {
        skipTrivia(newlines: false)
        guard let byte = peek() else { return true }
        if byte == UInt8(ascii: "\n") {
            advance()
            return true
        }
        if byte == UInt8(ascii: "}") && closing { return true }
        fail("expected a new line after this item, found \(describeNext())")
        return false
    }

    // MARK: - Expressions

    mutating func parseExpression() -> HCLExpression? {
        let start = location
        guard let byte = peek() else {
            fail("expected a value, found the end of the file")
            return nil
        }
        switch byte {
        case UInt8(ascii: "\""):
            return quotedString().map { .literal($0, quoted: true, at: start) }
        case UInt8(ascii: "<"):
            return heredoc().map { .literal($0, quoted: true, at: start) }
        case UInt8(ascii: "["):
            return parseTuple()
        case UInt8(ascii: "{"):
            return parseObject()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return number().map { .literal($0, quoted: false, at: start) }
        default:
            guard let name = identifier() else {
                fail("expected a value (a string, number, true, false, null, [list] or {object}), found \(describeNext())")
                return nil
            }
            switch name {
            case "true", "false", "null": return .literal(name, quoted: false, at: start)
            default: break
            }
            skipTrivia(newlines: false)
            if peek() == UInt8(ascii: "(") { return parseCall(name, at: start) }
            fail("references like '\(name)' are not supported: manifests hold values only", at: start,
                hint: "quote it if it is a string: \"\(name)\"")
            return nil
        }
    }

    mutating func parseCall(_ name: String, at start: SourceLocation) -> HCLExpression? {
        guard name == "env" else {
            fail("function calls are not supported ('\(name)(…)'); the only one is env(\"NAME\"), inside secret_environment", at: start)
            return nil
        }
        advance()  // (
        skipTrivia(newlines: true)
        guard peek() == UInt8(ascii: "\""), let variable = quotedString() else {
            fail("env() takes one quoted variable name: env(\"NAME\")", at: start)
            return nil
        }
        skipTrivia(newlines: true)
        guard peek() == UInt8(ascii: ")") else {
            fail("env() takes one quoted variable name: expected ')', found \(describeNext())")
            return nil
        }
        advance()
        return .env(variable, at: start)
    }

    mutating func parseTuple() -> HCLExpression? {
        let start = location
        advance()  // [
        guard enter(at: start) else { return nil }
        defer { depth -= 1 }
        var items: [HCLExpression] = []
        while true {
            skipTrivia(newlines: true)
            guard let byte = peek() else {
                fail("unterminated list started at \(start.line):\(start.column): expected ']'")
                return nil
            }
            if byte == UInt8(ascii: "]") {
                advance()
                return .tuple(items, at: start)
            }
            guard let item = parseExpression() else { return nil }
            items.append(item)
            skipTrivia(newlines: true)
            if peek() == UInt8(ascii: ",") {
                advance()
            } else if peek() != UInt8(ascii: "]") {
                fail("expected ',' or ']' in the list started at \(start.line):\(start.column), found \(describeNext())")
                return nil
            }
        }
    }

    mutating func parseObject() -> HCLExpression? {
        let start = location
        advance()  // {
        guard enter(at: start) else { return nil }
        defer { depth -= 1 }
        var entries: [(key: String, at: SourceLocation, value: HCLExpression)] = []
        while true {
            skipTrivia(newlines: true)
            guard let byte = peek() else {
                fail("unterminated object started at \(start.line):\(start.column): expected '}'")
                return nil
            }
            if byte == UInt8(ascii: "}") {
                advance()
                return .object(entries, at: start)
            }
            let keyStart = location
            let key: String
            if byte == UInt8(ascii: "\"") {
                guard let text = quotedString() else { return nil }
                key = text
            } else if let name = identifier() {
                key = name
            } else {
                fail("expected a key (a name or a quoted string) in the object started at \(start.line):\(start.column), found \(describeNext())")
                return nil
            }
            skipTrivia(newlines: false)
            guard peek() == UInt8(ascii: "=") || peek() == UInt8(ascii: ":") else {
                fail("expected '=' or ':' after key \"\(key)\", found \(describeNext())")
                return nil
            }
            advance()
            skipTrivia(newlines: false)
            guard let value = parseExpression() else { return nil }
            entries.append((key, keyStart, value))
            skipTrivia(newlines: false)
            switch peek() {
            case UInt8(ascii: ","), UInt8(ascii: "\n"): advance()
            case UInt8(ascii: "}"): break
            default:
                fail("expected ',', a new line or '}' after the value of \"\(key)\", found \(describeNext())")
                return nil
            }
        }
    }
}
