import RunwayModel

/// The launcher plugins a manifest may name, each with the validator of its `config`.
/// The executable builds it from the launcher registry, so a profile's config is checked
/// at `runway validate` time, not at launch.
public struct PluginCatalog: Sendable {
    public typealias Validator = @Sendable (ConfigNode) -> [Diagnostic]

    /// Available plugins and their config validators.
    public var validators: [String: Validator]
    /// Known platforms whose launcher this build lacks: naming one is an error at validate time.
    public var unavailable: Set<String>
    /// Launchers switched off on this controller (`--plugins`): naming one is an error at
    /// validate time.
    public var disabled: Set<String>
    /// Where manifests may draw secrets from.
    public var trust: TrustPolicy

    public init(validators: [String: Validator], unavailable: Set<String> = [], disabled: Set<String> = [], trust: TrustPolicy = TrustPolicy()) {
        self.validators = validators
        self.unavailable = unavailable
        self.disabled = disabled
        self.trust = trust
    }

    /// The five platforms of DESIGN.md, all accepted, with no config validation (for tests of the
    /// manifest format itself).
    public static let builtIn: PluginCatalog = {
        let accept: Validator = { _ in [] }
        return PluginCatalog(
            validators: Dictionary(uniqueKeysWithValues: ["local", "docker", "kubernetes", "nomad", "ecs"].map { ($0, accept) }))
    }()

    /// Every plugin name a profile may write, sorted.
    public var names: [String] { (Set(validators.keys).union(unavailable).union(disabled)).sorted() }
}
