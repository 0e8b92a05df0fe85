import RunwayModel

/// A recursive-descent parser for the HCL native syntax subset of Runway's manifests. Every
/// problem becomes a diagnostic with its line and column; after an error in one attribute or
/// block the parser skips to the end of that line and goes on, so a file's errors are reported
/// together. Nesting is bounded (`maxNesting`), so hostile input cannot exhaust the stack.
struct HCLParser {
    let path: String
    let maxNesting: Int
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var column = 1
    private var depth = 0
    private(set) var diagnostics: [Diagnostic] = []
    /// Set by an error that leaves nothing sensible to recover to (an unterminated heredoc).
    private var stopped = false
    /// Set by an unterminated string: the rest of its line cannot be read.
    private var abandonedLine = false

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
    private mutating func parseBody(closing: Bool) -> HCLBody {
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

    private mutating func parseItem() -> HCLItem? {
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

    private mutating func parseBlock(type: String, at start: SourceLocation) -> HCLItem? {
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
    private mutating func expectEndOfItem(closing: Bool) -> Bool {
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

    private mutating func parseExpression() -> HCLExpression? {
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

    private mutating func parseCall(_ name: String, at start: SourceLocation) -> HCLExpression? {
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

    private mutating func parseTuple() -> HCLExpression? {
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

    private mutating func parseObject() -> HCLExpression? {
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

    // MARK: - Tokens

    private mutating func identifier() -> String? {
        guard let first = peek(), isIdentifierStart(first) else { return nil }
        let start = index
        while let byte = peek(), isIdentifierStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") {
            advance()
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_")
    }

    /// A decimal number: `-`? digits, an optional fraction and exponent. Kept as written.
    private mutating func number() -> String? {
        let start = index
        let startLocation = location
        if peek() == UInt8(ascii: "-") { advance() }
        func digits() -> Int {
            var count = 0
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                advance()
                count += 1
            }
            return count
        }
        guard digits() > 0 else {
            fail("expected a number after '-'", at: startLocation)
            return nil
        }
        if peek() == UInt8(ascii: "."), peek(1).map({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) == true {
            advance()
            _ = digits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            advance()
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { advance() }
            guard digits() > 0 else {
                fail("expected digits in the exponent of a number", at: startLocation)
                return nil
            }
        }
        if let byte = peek(), isIdentifierStart(byte) {
            fail("unexpected '\(Character(Unicode.Scalar(byte)))' after a number; quote values like \"30s\" or \"512Mi\"", at: startLocation)
            return nil
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// A quoted string with HCL's escapes. `${` and `%{` (templates) are refused; `$${` and
    /// `%%{` are the literal text.
    private mutating func quotedString() -> String? {
        let start = location
        advance()  // "
        var text: [UInt8] = []
        while true {
            guard let byte = peek(), byte != UInt8(ascii: "\n") else {
                fail("unterminated string started at \(start.line):\(start.column): expected '\"' before the end of the line", at: start)
                abandonedLine = true
                return nil
            }
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                return String(decoding: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                let escapeStart = location
                advance()
                guard let escaped = escape(at: escapeStart) else { return nil }
                text += escaped
            case UInt8(ascii: "$"), UInt8(ascii: "%"):
                guard let literal = templateMarker(byte) else { return nil }
                text += literal
            default:
                text.append(byte)
                advance()
            }
        }
    }

    /// `$${` → `${`, `%%{` → `%{`; `${` and `%{` are errors; any other `$`/`%` is itself.
    private mutating func templateMarker(_ byte: UInt8) -> [UInt8]? {
        if peek(1) == byte && peek(2) == UInt8(ascii: "{") {
            advance(3)
            return [byte, UInt8(ascii: "{")]
        }
        if peek(1) == UInt8(ascii: "{") {
            fail(
                byte == UInt8(ascii: "$")
                    ? "interpolation ('${…}') is not supported: manifests hold values only"
                    : "template directives ('%{…}') are not supported: manifests hold values only",
                hint: "write $${ for a literal ${")
            return nil
        }
        advance()
        return [byte]
    }

    private mutating func escape(at start: SourceLocation) -> [UInt8]? {
        guard let byte = peek() else {
            fail("unterminated string: the file ends after '\\'", at: start)
            return nil
        }
        advance()
        switch byte {
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "\""): return [0x22]
        case UInt8(ascii: "\\"): return [0x5C]
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = byte == UInt8(ascii: "u") ? 4 : 8
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let digit = peek(), let nibble = hexValue(digit) else {
                    fail("'\\\(Character(Unicode.Scalar(byte)))' needs \(count) hex digits", at: start)
                    return nil
                }
                value = value << 4 | nibble
                advance()
            }
            guard let scalar = Unicode.Scalar(value) else {
                fail("'\\\(Character(Unicode.Scalar(byte)))' escape is not a Unicode character", at: start)
                return nil
            }
            return Array(String(Character(scalar)).utf8)
        default:
            fail("unknown escape '\\\(String(decoding: [byte], as: UTF8.self))' (known: \\n \\r \\t \\\" \\\\ \\uNNNN \\UNNNNNNNN)", at: start)
            return nil
        }
    }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// `<<EOT` … `EOT`, or `<<-EOT` with the lines' common indentation removed. Its lines are
    /// taken as written (no escapes); `${` is refused as in strings.
    private mutating func heredoc() -> String? {
        let start = location
        guard peek(1) == UInt8(ascii: "<") else {
            fail("expected a value, found '<' (a heredoc starts with <<EOT)")
            return nil
        }
        advance(2)
        let indented = peek() == UInt8(ascii: "-")
        if indented { advance() }
        guard let marker = identifier() else {
            fail("expected a heredoc marker after '<<' (like <<EOT), found \(describeNext())", at: start)
            return nil
        }
        skipTrivia(newlines: false)
        guard peek() == UInt8(ascii: "\n") else {
            fail("expected a new line after the heredoc marker \(marker), found \(describeNext())")
            return nil
        }
        advance()
        var lines: [[UInt8]] = []
        while true {
            guard peek() != nil else {
                fail("unterminated heredoc started at \(start.line):\(start.column): expected a line holding only \(marker)", at: start)
                stopped = true
                return nil
            }
            let lineStart = index
            while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
            var content = Array(bytes[lineStart..<index])
            if content.last == 0x0D { content.removeLast() }
            let trimmed = content.drop { $0 == 0x20 || $0 == 0x09 }
            // The closing marker's newline ends the attribute, as after any other value.
            if Array(trimmed) == Array(marker.utf8) { break }
            if peek() == UInt8(ascii: "\n") { advance() }
            if let position = findTemplate(in: content) {
                fail("interpolation ('${…}') is not supported in heredocs: manifests hold values only",
                    at: SourceLocation(path: path, line: line - 1, column: position + 1), hint: "write $${ for a literal ${")
                return nil
            }
            lines.append(content)
        }
        if indented {
            let indentation = lines.filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
                .map { $0.prefix { $0 == 0x20 || $0 == 0x09 }.count }.min() ?? 0
            lines = lines.map { Array($0.dropFirst(min(indentation, $0.prefix { $0 == 0x20 || $0 == 0x09 }.count))) }
        }
        let joined = lines.map { String(decoding: $0, as: UTF8.self) + "\n" }.joined()
        return joined.replacingOccurrences(of: "$${", with: "${").replacingOccurrences(of: "%%{", with: "%{")
    }

    /// Where `${` or `%{` (not doubled) starts in a heredoc line, if anywhere.
    private func findTemplate(in content: [UInt8]) -> Int? {
        var position = 0
        while position + 1 < content.count {
            let byte = content[position]
            if byte == UInt8(ascii: "$") || byte == UInt8(ascii: "%") {
                if position + 2 < content.count && content[position + 1] == byte && content[position + 2] == UInt8(ascii: "{") {
                    position += 3
                    continue
                }
                if content[position + 1] == UInt8(ascii: "{") { return position }
            }
            position += 1
        }
        return nil
    }

    // MARK: - Scanning

    private var location: SourceLocation { SourceLocation(path: path, line: line, column: column) }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func advance(_ count: Int = 1) {
        for _ in 0..<count {
            guard index < bytes.count else { return }
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1  // columns count characters: UTF-8 continuation bytes do not
            }
        }
    }

    /// Spaces, tabs, carriage returns and comments; newlines too when `newlines`.
    private mutating func skipTrivia(newlines: Bool) {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                advance()
            case UInt8(ascii: "\n") where newlines:
                advance()
            case UInt8(ascii: "#"):
                skipLineComment()
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"):
                skipLineComment()
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
                let start = location
                advance(2)
                while peek() != nil && !(peek() == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/")) { advance() }
                guard peek() != nil else {
                    fail("unterminated comment started at \(start.line):\(start.column): expected '*/'", at: start)
                    stopped = true
                    return
                }
                advance(2)
            default:
                return
            }
        }
    }

    private mutating func skipLineComment() {
        while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
    }

    /// After an error in the item that began at `start`: skip the rest of it — up to the end of
    /// the line where every bracket it opened is closed — but not a `}` that closes the
    /// enclosing block.
    private mutating func recoverToNextLine(openedSince start: Int) {
        // A string cannot span lines: after an unterminated one, whatever its line opened is
        // taken as closed on that line; only brackets of earlier lines are waited for.
        var counted = index
        if abandonedLine {
            abandonedLine = false
            while counted > start, bytes[counted - 1] != UInt8(ascii: "\n") { counted -= 1 }
        }
        var open = Self.unclosedBrackets(in: bytes[start..<counted])
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "("): open += 1
            case UInt8(ascii: "}"):
                if open == 0 { return }
                open -= 1
            case UInt8(ascii: "]"), UInt8(ascii: ")"):
                open = max(0, open - 1)
            case UInt8(ascii: "\n") where open == 0:
                advance()
                return
            case UInt8(ascii: "\""):
                // Skip a string on this line so its braces do not count.
                advance()
                while let inner = peek(), inner != UInt8(ascii: "\""), inner != UInt8(ascii: "\n") {
                    if inner == UInt8(ascii: "\\") { advance() }
                    advance()
                }
                if peek() == UInt8(ascii: "\"") { advance() }
                continue
            default: break
            }
            advance()
        }
    }

    /// Brackets opened and not closed in `text`, strings and comments aside.
    private static func unclosedBrackets(in text: ArraySlice<UInt8>) -> Int {
        var open = 0
        var position = text.startIndex
        while position < text.endIndex {
            switch text[position] {
            case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "("): open += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ")"): open = max(0, open - 1)
            case UInt8(ascii: "\""):
                position += 1
                while position < text.endIndex, text[position] != UInt8(ascii: "\""), text[position] != UInt8(ascii: "\n") {
                    if text[position] == UInt8(ascii: "\\") { position += 1 }
                    position += 1
                }
            case UInt8(ascii: "#"):
                while position < text.endIndex, text[position] != UInt8(ascii: "\n") { position += 1 }
            default: break
            }
            position += 1
        }
        return open
    }

    private mutating func enter(at start: SourceLocation) -> Bool {
        depth += 1
        guard depth <= maxNesting else {
            fail("nested more than \(maxNesting) levels deep", at: start)
            stopped = true
            depth -= 1
            return false
        }
        return true
    }

    private func describeNext() -> String {
        guard let byte = peek() else { return "the end of the file" }
        switch byte {
        case UInt8(ascii: "\n"): return "the end of the line"
        case 0x20...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        default: return "a byte 0x\(String(byte, radix: 16))"
        }
    }

    private mutating func fail(_ message: String, at location: SourceLocation? = nil, hint: String? = nil) {
        diagnostics.append(.error("hcl-syntax", message, at: location ?? self.location, hint: hint))
    }
}
