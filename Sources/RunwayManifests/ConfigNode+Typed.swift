import RunwayModel

/// Typed reads of a node's value. Each returns nil and appends a diagnostic naming the field
/// and what was expected when the node has the wrong type.
extension ConfigNode {
    public func string(_ field: String, diagnostics: inout [Diagnostic]) -> String? {
        guard let scalar, !isNull else {
            diagnostics.append(wrongType(field, expected: "a string"))
            return nil
        }
        return scalar.text
    }

    public func bool(_ field: String, diagnostics: inout [Diagnostic]) -> Bool? {
        if let scalar, !scalar.isQuoted {
            switch scalar.text {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        diagnostics.append(wrongType(field, expected: "true or false"))
        return nil
    }

    public func integer(_ field: String, diagnostics: inout [Diagnostic]) -> Int? {
        if let scalar, !scalar.isQuoted, let value = Int(scalar.text) { return value }
        diagnostics.append(wrongType(field, expected: "an integer"))
        return nil
    }

    /// A positive duration like `90s`, `2m`, `1h30m`, and at most `maximum` when one is given.
    public func duration(_ field: String, atMost maximum: Duration? = nil, diagnostics: inout [Diagnostic]) -> Duration? {
        guard let text = string(field, diagnostics: &diagnostics) else { return nil }
        if text.hasPrefix("-") {
            diagnostics.append(.error("bad-duration", "'\(field)' must not be negative, found '\(text)'", at: location))
            return nil
        }
        do {
            let duration = try Duration.parseManifest(text)
            guard duration > .zero else {
                diagnostics.append(.error("bad-duration", "'\(field)' must be greater than zero", at: location))
                return nil
            }
            if let maximum, duration > maximum {
                diagnostics.append(
                    .error("bad-duration", "'\(field)' must be at most \(maximum.manifestDescription), found '\(text)'", at: location))
                return nil
            }
            return duration
        } catch {
            diagnostics.append(.error("bad-duration", "'\(field)': \(error)", at: location))
            return nil
        }
    }

    public func stringList(_ field: String, diagnostics: inout [Diagnostic]) -> [String]? {
        guard let items else {
            diagnostics.append(wrongType(field, expected: "a list of strings"))
            return nil
        }
        var strings: [String] = []
        for item in items {
            guard let text = item.string("\(field)[\(strings.count)]", diagnostics: &diagnostics) else { return nil }
            strings.append(text)
        }
        return strings
    }

    /// A mapping of string keys to scalar values (numbers and booleans keep their text).
    public func stringMap(_ field: String, diagnostics: inout [Diagnostic]) -> [String: String]? {
        guard let entries else {
            diagnostics.append(wrongType(field, expected: "a mapping of strings"))
            return nil
        }
        var map: [String: String] = [:]
        for entry in entries {
            guard let text = entry.value.string("\(field).\(entry.key)", diagnostics: &diagnostics) else { continue }
            map[entry.key] = text
        }
        return map
    }

    /// A secret reference, `{fromEnv: NAME}` or `{fromFile: PATH}`; an inline value is refused, so
    /// a secret never sits in a manifest, and so is a source `trust` does not allow (the
    /// controller's own credentials, a variable or a directory the operator did not allow).
    /// `name` says which secret in messages; no message holds a value.
    public func secretReference(_ field: String, name: String, trust: TrustPolicy, diagnostics: inout [Diagnostic]) -> SecretReference? {
        guard let reference = secretReference(field, name: name, diagnostics: &diagnostics) else { return nil }
        if let reason = trust.refusal(reference) {
            diagnostics.append(.error("secret-not-allowed", "secret '\(name)': \(reason)", at: location))
            return nil
        }
        return reference
    }

    /// The reference's form only: a launcher reading its own config checks the source against
    /// its ``TrustPolicy`` itself, where it validates.
    public func secretReference(_ field: String, name: String, diagnostics: inout [Diagnostic]) -> SecretReference? {
        guard entries != nil else {
            diagnostics.append(
                .error("inline-secret", "secret '\(name)' has an inline value; secrets must be references",
                    at: location, hint: "use { fromEnv: NAME } or { fromFile: PATH }"))
            return nil
        }
        guard var reference = MappingReader(self, context: field, diagnostics: &diagnostics) else { return nil }
        let fromEnv = reference.value("fromEnv")
        let fromFile = reference.value("fromFile")
        reference.reportUnknownKeys(diagnostics: &diagnostics)
        switch (fromEnv, fromFile) {
        case (let env?, nil):
            return env.string("\(field).fromEnv", diagnostics: &diagnostics).map(SecretReference.fromEnv)
        case (nil, let file?):
            return file.string("\(field).fromFile", diagnostics: &diagnostics).map(SecretReference.fromFile)
        case (.some, .some):
            diagnostics.append(.error("bad-secret", "secret '\(name)' sets both fromEnv and fromFile; choose one", at: location))
        case (nil, nil):
            diagnostics.append(.error("bad-secret", "secret '\(name)' needs fromEnv or fromFile", at: location))
        }
        return nil
    }

    public func wrongType(_ field: String, expected: String) -> Diagnostic {
        let found: String
        switch value {
        case .mapping: found = "a mapping"
        case .sequence: found = "a list"
        case .scalar(let scalar):
            found = isNull ? "null" : scalar.isQuoted ? "the string \"\(scalar.text)\"" : "'\(scalar.text)'"
        }
        return .error("wrong-type", "'\(field)' must be \(expected), found \(found)", at: location)
    }
}
