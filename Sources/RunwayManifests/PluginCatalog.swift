import RunwayModel

/// The launcher plugins a manifest may name, each with the validator of its `config`.
/// The executable builds it from the launcher registry, so a profile's config is checked
/// at `runway validate` time, not at launch.
public struct PluginCatalog: Sendable {
    public typealias Validator = @Sendable (ConfigNode) -> [Diagnostic]

    public var validators: [String: Validator]

    public init(validators: [String: Validator]) {
        self.validators = validators
    }

    /// The five platforms of DESIGN.md with no config validation of their own.
    public static let builtIn: PluginCatalog = {
        let accept: Validator = { _ in [] }
        return PluginCatalog(
            validators: Dictionary(uniqueKeysWithValues: ["local", "docker", "kubernetes", "nomad", "ecs"].map { ($0, accept) }))
    }()

    /// Plugin names, sorted.
    public var names: [String] { validators.keys.sorted() }
}
