import RunwayManifests
import RunwayModel

extension ConfigNode {
    /// A profile's extra platform labels (`spec.config.labels`): a map of strings in which the
    /// `runway.io/*` keys are refused, since Runway sets those itself.
    func extraLabels(_ field: String, diagnostics: inout [Diagnostic]) -> [String: String] {
        let labels = stringMap(field, diagnostics: &diagnostics) ?? [:]
        for entry in entries ?? [] where entry.key.hasPrefix(TaskLabels.prefix) {
            diagnostics.append(.error(
                "reserved-label", "label '\(entry.key)' in '\(field)' is reserved: Runway sets the \(TaskLabels.prefix)* labels",
                at: entry.keyLocation))
        }
        return labels
    }
}
