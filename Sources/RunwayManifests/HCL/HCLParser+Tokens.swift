import RunwayModel

/// Names, numbers, quoted strings with their escapes, and heredocs.
extension HCLParser {
    mutating func identifier() -> String? {
        guard let first = peek(), isIdentifierStart(first) else { return nil }
        let start = index
        while let byte = peek(), isIdentifierStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") {
            advance()
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_")
    }

    /// A decimal number: `-`? digits, an optional fraction and exponent. Kept as written.
    mutating func number() -> String? {
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
    mutating func quotedString() -> String? {
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
    mutating func templateMarker(_ byte: UInt8) -> [UInt8]? {
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

    mutating func escape(at start: SourceLocation) -> [UInt8]? {
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

    func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// `<<EOT` … `EOT`, or `<<-EOT` with the lines' common indentation removed. Its lines are
    /// taken as written (no escapes); `${` is refused as in strings.
    mutating func heredoc() -> String? {
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
    func findTemplate(in content: [UInt8]) -> Int? {
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
}
