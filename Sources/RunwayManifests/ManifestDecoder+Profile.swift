import RunwayModel

extension ManifestDecoder {
    func decodeProfile(_ metadata: Metadata, spec: MappingReader?, diagnostics: inout [Diagnostic]) -> ManifestObject {
        var profile = RunnerProfile(name: metadata.name, labels: metadata.labels, plugin: "", location: metadata.location)
        guard var spec else { return .profile(profile, defaultAt: nil) }
        defer { spec.reportUnknownKeys(diagnostics: &diagnostics) }

        let pluginNode = spec.required("plugin", diagnostics: &diagnostics, hint: plugins.names.joined(separator: " | "))
        if let pluginNode, let plugin = pluginNode.string("spec.plugin", diagnostics: &diagnostics) {
            profile.plugin = plugin
            if plugins.disabled.contains(plugin) {
                let enabled = plugins.validators.keys.sorted().joined(separator: ", ")
                diagnostics.append(
                    .error("plugin-disabled", "plugin '\(plugin)' is switched off on this controller", at: pluginNode.location,
                        hint: "enabled: \(enabled.isEmpty ? "none" : enabled) (--plugins, RUNWAY_PLUGINS)"))
            } else if plugins.unavailable.contains(plugin) {
                let available = plugins.validators.keys.sorted().joined(separator: ", ")
                diagnostics.append(
                    .error("plugin-unavailable", "plugin '\(plugin)' is not available in this build", at: pluginNode.location,
                        hint: "available: \(available)"))
            } else if plugins.validators[plugin] == nil {
                let hint = Suggestion.closest(to: plugin, in: plugins.names).map { "did you mean '\($0)'?" }
                diagnostics.append(
                    .error("unknown-plugin", "unknown plugin '\(plugin)'", at: pluginNode.location,
                        hint: hint ?? "expected one of: \(plugins.names.joined(separator: ", "))"))
            }
        }
        var defaultAt: SourceLocation?
        if let node = spec.value("default"), let isDefault = node.bool("spec.default", diagnostics: &diagnostics) {
            profile.isDefault = isDefault
            defaultAt = isDefault ? node.location : nil
        }
        if let node = spec.value("image"), let image = node.string("spec.image", diagnostics: &diagnostics) {
            if image.isEmpty {
                diagnostics.append(
                    .error("empty-value", "'spec.image' is empty", at: node.location,
                        hint: "omit it to use the controller's own image"))
            } else {
                profile.image = image
            }
        }
        if let node = spec.value("environment") {
            profile.environment = environment(node, field: "spec.environment", diagnostics: &diagnostics)
        }
        if let node = spec.value("secretEnvironment") {
            profile.secretEnvironment = secrets(node, plugin: profile.plugin, diagnostics: &diagnostics)
        }
        if let node = spec.value("maxConcurrent"), let limit = node.integer("spec.maxConcurrent", diagnostics: &diagnostics) {
            if limit < 1 {
                diagnostics.append(.error("out-of-range", "'spec.maxConcurrent' must be at least 1, found \(limit)", at: node.location,
                    hint: "omit it for no limit"))
            } else {
                profile.maxConcurrent = limit
            }
        }
        if let node = spec.value("startTimeout"), let timeout = node.duration("spec.startTimeout", diagnostics: &diagnostics) {
            profile.startTimeout = timeout
        }
        var configNode = spec.value("config")
        var configFile: (reference: String, location: SourceLocation)?
        if let fileNode = spec.value("configFile"), let reference = fileNode.string("spec.configFile", diagnostics: &diagnostics) {
            if configNode != nil {
                diagnostics.append(.error(
                    "config-twice", "'spec.configFile' and 'spec.config' are both set; choose one", at: fileNode.location))
            } else {
                configNode = readConfigFile(reference, fileNode.location, &diagnostics)
                configFile = (reference, fileNode.location)
            }
        }
        if let node = configNode {
            if node.entries == nil && !node.isNull, let configFile {
                // Never the file's content: it may be some other file holding a secret.
                diagnostics.append(.error(
                    "bad-type", "configFile '\(configFile.reference)' does not hold a mapping of config keys", at: configFile.location))
            } else if node.entries == nil && !node.isNull {
                diagnostics.append(node.wrongType("spec.config", expected: "a mapping"))
            } else if !node.isNull {
                profile.config = node
                if let validate = plugins.validators[profile.plugin] { diagnostics += validate(node) }
            }
        }
        return .profile(profile, defaultAt: defaultAt)
    }

    /// The secret kind each platform resolves itself.
    static let platformSecretKinds = ["kubernetes": "fromKubernetesSecret", "ecs": "fromAWSSecret", "nomad": "fromNomadVariable"]

    /// The profile's secrets; one its platform (`plugin`) cannot resolve is an error.
    private func secrets(_ node: ConfigNode, plugin: String, diagnostics: inout [Diagnostic]) -> [String: SecretReference] {
        guard let entries = node.entries else {
            diagnostics.append(node.wrongType("spec.secretEnvironment", expected: "a mapping of secret references"))
            return [:]
        }
        var secrets: [String: SecretReference] = [:]
        for entry in entries {
            let field = "spec.secretEnvironment.\(entry.key)"
            checkVariableName(entry.key, at: entry.keyLocation, diagnostics: &diagnostics)
            if let reference = entry.value.secretReference(field, name: entry.key, trust: plugins.trust, diagnostics: &diagnostics) {
                if let platform = reference.platform, platform != plugin, !plugin.isEmpty {
                    diagnostics.append(.error(
                        "secret-wrong-platform",
                        "secret '\(entry.key)': \(reference.kind) is resolved by \(platform), but this profile runs on \(plugin)",
                        at: entry.value.location,
                        hint: "on \(plugin), use \(Self.platformSecretKinds[plugin].map { "\($0), " } ?? "")fromEnv or fromFile"))
                    continue
                }
                secrets[entry.key] = reference
            }
        }
        return secrets
    }

    /// An environment mapping, with each variable name checked.
    func environment(_ node: ConfigNode, field: String, diagnostics: inout [Diagnostic]) -> [String: String] {
        for entry in node.entries ?? [] {
            checkVariableName(entry.key, at: entry.keyLocation, diagnostics: &diagnostics)
        }
        return node.stringMap(field, diagnostics: &diagnostics) ?? [:]
    }

    private func checkVariableName(_ name: String, at location: SourceLocation, diagnostics: inout [Diagnostic]) {
        let bytes = Array(name.utf8)
        let valid = !bytes.isEmpty && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0])
            && bytes.allSatisfy { byte in
                byte == UInt8(ascii: "_") || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            }
        if !valid {
            diagnostics.append(
                .error("bad-variable", "invalid environment variable name '\(name)'", at: location,
                    hint: "letters, digits and '_', not starting with a digit"))
        } else if name.hasPrefix("RUNWAY_") {
            diagnostics.append(
                .error("reserved-variable", "'\(name)' is reserved: RUNWAY_* variables are set by the controller",
                    at: location))
        }
    }
}
