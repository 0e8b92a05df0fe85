import RunwayModel

/// Resource quantities in the Kubernetes style that operators already write: memory as
/// `512Mi`, `1Gi`, `500M` or bytes; CPU as `0.5`, `2` or `500m` (millicores).
extension ConfigNode {
    /// Bytes, from a plain number or one with a binary (`Ki`…`Ti`) or decimal (`k`/`K`…`T`) suffix.
    public func memoryBytes(_ field: String, diagnostics: inout [Diagnostic]) -> Int64? {
        guard let text = scalarText(field, diagnostics: &diagnostics) else { return nil }
        guard let bytes = ByteCount.parse(text) else {
            diagnostics.append(
                .error("bad-quantity", "'\(field)' must be a memory size like 512Mi, 2Gi or 500M, found '\(text)'", at: location))
            return nil
        }
        return bytes
    }

    /// Thousandths of a CPU, from `0.5`, `2` or `500m`.
    public func millicores(_ field: String, diagnostics: inout [Diagnostic]) -> Int64? {
        guard let text = scalarText(field, diagnostics: &diagnostics) else { return nil }
        let milli = text.hasSuffix("m")
        guard let value = Double(milli ? String(text.dropLast()) : text), value > 0, value < 1e9 else {
            diagnostics.append(.error("bad-quantity", "'\(field)' must be a CPU amount like 0.5, 2 or 500m, found '\(text)'", at: location))
            return nil
        }
        return Int64((milli ? value : value * 1000).rounded(.up))
    }

    /// A scalar's text, numbers included (a quantity may be written unquoted: `memory: 1024`).
    private func scalarText(_ field: String, diagnostics: inout [Diagnostic]) -> String? {
        guard let scalar, !isNull else {
            diagnostics.append(wrongType(field, expected: "a quantity"))
            return nil
        }
        return scalar.text
    }
}
