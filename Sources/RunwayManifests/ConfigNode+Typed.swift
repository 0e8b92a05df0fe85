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
                    at: location, hint: "use { fromEnv: NAME }, { fromFile: PATH } or a platform's own secret"))
            return nil
        }
        guard var reader = MappingReader(self, context: field, diagnostics: &diagnostics) else { return nil }
        let kinds = ["fromEnv", "fromFile", "fromKubernetesSecret", "fromAWSSecret", "fromNomadVariable"]
        let given = kinds.compactMap { kind in reader.value(kind).map { (kind, $0) } }
        reader.reportUnknownKeys(diagnostics: &diagnostics)
        guard let (kind, node) = given.first, given.count == 1 else {
            let message = given.isEmpty
                ? "secret '\(name)' needs one of \(kinds.dropLast().joined(separator: ", ")) or \(kinds.last!)"
                : "secret '\(name)' sets both \(given.dropLast().map(\.0).joined(separator: ", ")) and \(given.last!.0); choose one"
            diagnostics.append(.error("bad-secret", message, at: location))
            return nil
        }
        let path = "\(field).\(kind)"
        switch kind {
        case "fromEnv": return node.string(path, diagnostics: &diagnostics).map(SecretReference.fromEnv)
        case "fromFile": return node.string(path, diagnostics: &diagnostics).map(SecretReference.fromFile)
        case "fromAWSSecret":
            guard let arn = node.string(path, diagnostics: &diagnostics) else { return nil }
            guard arn.hasPrefix("arn:"), arn.contains(":secretsmanager:") || arn.contains(":ssm:") else {
                diagnostics.append(.error(
                    "bad-value", "'\(path)' must be the ARN of a Secrets Manager secret or an SSM parameter, found '\(arn)'", at: node.location))
                return nil
            }
            return .awsSecret(arn: arn)
        default:
            let (first, second) = kind == "fromKubernetesSecret" ? ("name", "key") : ("path", "key")
            guard var parts = MappingReader(node, context: path, diagnostics: &diagnostics) else { return nil }
            let a = parts.required(first, diagnostics: &diagnostics)?.string("\(path).\(first)", diagnostics: &diagnostics)
            let b = parts.required(second, diagnostics: &diagnostics)?.string("\(path).\(second)", diagnostics: &diagnostics)
            parts.reportUnknownKeys(diagnostics: &diagnostics)
            guard let a, let b, !a.isEmpty, !b.isEmpty else { return nil }
            if kind == "fromNomadVariable", b.first?.isNumber != false || !b.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
                // Rendered as `{{ .KEY }}` in a Nomad template.
                diagnostics.append(.error(
                    "bad-value", "'\(path).key' must be a Nomad Variable item name of letters, digits and '_', found '\(b)'", at: node.location))
                return nil
            }
            return kind == "fromKubernetesSecret" ? .kubernetesSecret(name: a, key: b) : .nomadVariable(path: a, key: b)
        }
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
