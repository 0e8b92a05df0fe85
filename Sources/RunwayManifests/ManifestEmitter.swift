import RunwayModel

/// A decoded manifest document, as `runway convert` and `runway fmt` print it.
public enum ManifestDocument: Sendable {
    case profile(RunnerProfile)
    case job(JobSpec)
}

/// The two manifest syntaxes.
public enum ManifestSyntax: String, Sendable, CaseIterable {
    case yaml
    case hcl

    /// The syntax of a file, by its name.
    public init(path: String) { self = path.hasSuffix(".hcl") ? .hcl : .yaml }
}

/// Prints decoded documents in either syntax, so that reading the text back gives the same
/// models. Comments and layout are not kept; fields at their defaults are left out.
public enum ManifestEmitter {
    public static func text(_ documents: [ManifestDocument], as syntax: ManifestSyntax) -> String {
        switch syntax {
        case .yaml: documents.map(yaml).joined(separator: "---\n")
        case .hcl: documents.map(hcl).joined(separator: "\n")
        }
    }

    // MARK: - YAML

    private static func yaml(_ document: ManifestDocument) -> String {
        var out = "apiVersion: \(ManifestDecoder.apiVersion)\n"
        func field(_ key: String, _ value: String?) { if let value { out += "  \(key): \(value)\n" } }
        switch document {
        case .profile(let profile):
            out += "kind: RunnerProfile\nmetadata:\n  name: \(quoted(profile.name))\n"
            if !profile.labels.isEmpty { out += "  labels: \(yamlMap(profile.labels))\n" }
            out += "spec:\n"
            field("plugin", quoted(profile.plugin))
            field("default", profile.isDefault ? "true" : nil)
            field("image", profile.image.map(quoted))
            field("environment", profile.environment.isEmpty ? nil : yamlMap(profile.environment))
            field("secretEnvironment", profile.secretEnvironment.isEmpty ? nil : yamlSecrets(profile.secretEnvironment))
            field("maxConcurrent", profile.maxConcurrent.map(String.init))
            field("startTimeout", profile.startTimeout == RunnerProfile.defaultStartTimeout ? nil : quoted(profile.startTimeout.manifestDescription))
            field("config", profile.config.map { yamlNode($0) })
        case .job(let job):
            out += "kind: Job\nmetadata:\n  name: \(quoted(job.name))\n"
            if !job.labels.isEmpty { out += "  labels: \(yamlMap(job.labels))\n" }
            out += "spec:\n"
            field("profile", job.profile.map(quoted))
            field("image", job.image.map(quoted))
            field("command", "[" + job.command.map(quoted).joined(separator: ", ") + "]")
            field("workingDirectory", job.workingDirectory.map(quoted))
            field("environment", job.environment.isEmpty ? nil : yamlMap(job.environment))
            field("timeout", job.timeout.map { quoted($0.manifestDescription) })
            field("retries", job.retries == 0 ? nil : String(job.retries))
            for (key, value) in runFields(job, quoted: quoted) { field(key, value) }
        }
        return out
    }

    /// The fields that say when a job runs, in the YAML's names (HCL writes them in snake_case),
    /// each only when it is not its default.
    private static func runFields(_ job: JobSpec, quoted: (String) -> String) -> [(String, String)] {
        var fields: [(String, String?)] = [
            ("rerun", job.rerun.map(quoted)),
            ("after", job.after.isEmpty ? nil : "[" + job.after.map(quoted).joined(separator: ", ") + "]"),
        ]
        if let schedule = job.schedule {
            fields += [
                ("schedule", quoted(schedule.cron.text)),
                ("timeZone", schedule.timeZone.identifier == "UTC" ? nil : quoted(schedule.timeZone.identifier)),
                ("concurrencyPolicy", schedule.concurrencyPolicy == .forbid ? nil : quoted(schedule.concurrencyPolicy.rawValue)),
                ("startingDeadline", schedule.startingDeadline.map { quoted($0.manifestDescription) }),
                ("suspend", schedule.suspend ? "true" : nil),
            ]
        }
        fields.append(("historyLimit", job.historyLimit == JobSpec.defaultHistoryLimit ? nil : String(job.historyLimit)))
        return fields.compactMap { key, value in value.map { (key, $0) } }
    }

    private static func yamlMap(_ map: [String: String]) -> String {
        "{" + map.sorted { $0.key < $1.key }.map { "\(quoted($0.key)): \(quoted($0.value))" }.joined(separator: ", ") + "}"
    }

    private static func yamlSecrets(_ secrets: [String: SecretReference]) -> String {
        "{" + secrets.sorted { $0.key < $1.key }.map { "\(quoted($0.key)): \(secret($0.value, separator: ":"))" }.joined(separator: ", ") + "}"
    }

    private static func yamlNode(_ node: ConfigNode) -> String {
        switch node.value {
        case .scalar(let scalar): scalar.isQuoted || !isPlainLiteral(scalar.text, yaml: true) ? quoted(scalar.text) : scalar.text
        case .sequence(let items): "[" + items.map(yamlNode).joined(separator: ", ") + "]"
        case .mapping(let entries): "{" + entries.map { "\(quoted($0.key)): \(yamlNode($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    // MARK: - HCL

    private static func hcl(_ document: ManifestDocument) -> String {
        var out = ""
        var lines: [(String, String)] = []
        func field(_ key: String, _ value: String?) { if let value { lines.append((key, value)) } }
        var config: ConfigNode?
        switch document {
        case .profile(let profile):
            out += "runner_profile \(hclQuoted(profile.name)) {\n"
            field("plugin", hclQuoted(profile.plugin))
            field("default", profile.isDefault ? "true" : nil)
            field("labels", profile.labels.isEmpty ? nil : hclMap(profile.labels))
            field("image", profile.image.map(hclQuoted))
            field("environment", profile.environment.isEmpty ? nil : hclMap(profile.environment))
            field("secret_environment", profile.secretEnvironment.isEmpty ? nil : hclSecrets(profile.secretEnvironment))
            field("max_concurrent", profile.maxConcurrent.map(String.init))
            field("start_timeout", profile.startTimeout == RunnerProfile.defaultStartTimeout ? nil : hclQuoted(profile.startTimeout.manifestDescription))
            config = profile.config
        case .job(let job):
            out += "job \(hclQuoted(job.name)) {\n"
            field("profile", job.profile.map(hclQuoted))
            field("labels", job.labels.isEmpty ? nil : hclMap(job.labels))
            field("image", job.image.map(hclQuoted))
            field("command", "[" + job.command.map(hclQuoted).joined(separator: ", ") + "]")
            field("working_directory", job.workingDirectory.map(hclQuoted))
            field("environment", job.environment.isEmpty ? nil : hclMap(job.environment))
            field("timeout", job.timeout.map { hclQuoted($0.manifestDescription) })
            field("retries", job.retries == 0 ? nil : String(job.retries))
            for (key, value) in runFields(job, quoted: hclQuoted) { field(HCLMapper.attributeName(key), value) }
        }
        let width = lines.map(\.0.count).max() ?? 0
        for (key, value) in lines { out += "  " + key.padding(toLength: width, withPad: " ", startingAt: 0) + " = " + value + "\n" }
        if let config {
            // An attribute name in snake_case would be read back as camelCase: such configs
            // are written as an object, whose keys are kept as they are.
            if let entries = config.entries, entries.allSatisfy({ isIdentifier($0.key) && HCLMapper.fieldName($0.key) == $0.key }) {
                out += "\n  config {\n"
                for entry in entries { out += "    \(entry.key) = \(hclNode(entry.value))\n" }
                out += "  }\n"
            } else {
                out += "\n  config = \(hclNode(config))\n"
            }
        }
        return out + "}\n"
    }

    private static func hclMap(_ map: [String: String]) -> String {
        "{ " + map.sorted { $0.key < $1.key }.map { "\(hclKey($0.key)) = \(hclQuoted($0.value))" }.joined(separator: ", ") + " }"
    }

    private static func hclSecrets(_ secrets: [String: SecretReference]) -> String {
        "{ " + secrets.sorted { $0.key < $1.key }.map { entry -> String in
            if case .fromEnv(let name) = entry.value { return "\(hclKey(entry.key)) = env(\(hclQuoted(name)))" }
            return "\(hclKey(entry.key)) = \(reference(entry.value, separator: " =", quote: hclQuoted))"
        }.joined(separator: ", ") + " }"
    }

    private static func hclNode(_ node: ConfigNode) -> String {
        switch node.value {
        case .scalar(let scalar): !scalar.isQuoted && isPlainLiteral(scalar.text, yaml: false) ? scalar.text : hclQuoted(scalar.text)
        case .sequence(let items): "[" + items.map(hclNode).joined(separator: ", ") + "]"
        case .mapping(let entries): "{ " + entries.map { "\(hclKey($0.key)) = \(hclNode($0.value))" }.joined(separator: ", ") + " }"
        }
    }

    private static func hclKey(_ key: String) -> String { isIdentifier(key) ? key : hclQuoted(key) }

    // MARK: - Shared

    private static func secret(_ reference: SecretReference, separator: String) -> String {
        Self.reference(reference, separator: separator, quote: quoted)
    }

    /// A secret reference as a one-line mapping, in either syntax (`separator` `:` or ` =`).
    private static func reference(_ reference: SecretReference, separator: String, quote: (String) -> String) -> String {
        let body: String
        switch reference {
        case .fromEnv(let name): body = quote(name)
        case .fromFile(let path): body = quote(path)
        case .awsSecret(let arn): body = quote(arn)
        case .kubernetesSecret(let name, let key): body = "{name\(separator) \(quote(name)), key\(separator) \(quote(key))}"
        case .nomadVariable(let path, let key): body = "{path\(separator) \(quote(path)), key\(separator) \(quote(key))}"
        }
        return "{\(reference.kind)\(separator) \(body)}"
    }

    /// Numbers, booleans and null, which both syntaxes write bare. (YAML's other plain scalars
    /// are quoted: `2s` in YAML becomes `"2s"`, the same string to every reader.)
    private static func isPlainLiteral(_ text: String, yaml: Bool) -> Bool {
        if text == "true" || text == "false" || text == "null" { return true }
        guard !text.isEmpty, Double(text) != nil else { return false }
        return text.allSatisfy { $0.isNumber || $0 == "." || $0 == "-" || $0 == "e" || $0 == "E" || $0 == "+" }
            && (text.first?.isNumber == true || text.first == "-") && text.last?.isNumber == true
    }

    private static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.first, first.isLetter || first == "_" else { return false }
        return key.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == "-" }
    }

    /// A string for HCL: `${` and `%{` are doubled so HCL reads them as text.
    private static func hclQuoted(_ text: String) -> String {
        quoted(text).replacingOccurrences(of: "${", with: "$${").replacingOccurrences(of: "%{", with: "%%{")
    }

    /// A double-quoted string in the escapes both syntaxes share (JSON's).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + String(format: "%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
