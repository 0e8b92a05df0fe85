import RunwayModel

/// Moving through the bytes: positions, trivia, recovery after an error, nesting, messages.
extension HCLParser {
    var location: SourceLocation { SourceLocation(path: path, line: line, column: column) }

    func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    mutating func advance(_ count: Int = 1) {
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
    mutating func skipTrivia(newlines: Bool) {
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

    mutating func skipLineComment() {
        while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
    }

    /// After an error in the item that began at `start`: skip the rest of it — up to the end of
    /// the line where every bracket it opened is closed — but not a `}` that closes the
    /// enclosing block.
    mutating func recoverToNextLine(openedSince start: Int) {
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

    mutating func enter(at start: SourceLocation) -> Bool {
        depth += 1
        guard depth <= maxNesting else {
            fail("nested more than \(maxNesting) levels deep", at: start)
            stopped = true
            depth -= 1
            return false
        }
        return true
    }

    func describeNext() -> String {
        guard let byte = peek() else { return "the end of the file" }
        switch byte {
        case UInt8(ascii: "\n"): return "the end of the line"
        case 0x20...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        default: return "a byte 0x\(String(byte, radix: 16))"
        }
    }

    mutating func fail(_ message: String, at location: SourceLocation? = nil, hint: String? = nil) {
        diagnostics.append(.error("hcl-syntax", message, at: location ?? self.location, hint: hint))
    }
}
