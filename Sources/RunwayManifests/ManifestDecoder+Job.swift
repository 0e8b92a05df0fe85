import RunwayModel

extension ManifestDecoder {
    func decodeJob(_ metadata: Metadata, spec: MappingReader?, diagnostics: inout [Diagnostic]) -> ManifestObject {
        var job = JobSpec(name: metadata.name, labels: metadata.labels, command: [], location: metadata.location)
        guard var spec else { return .job(JobSpecBox(job), profileAt: nil) }
        defer { spec.reportUnknownKeys(diagnostics: &diagnostics) }

        var profileAt: SourceLocation?
        if let node = spec.value("profile"), let profile = node.string("spec.profile", diagnostics: &diagnostics) {
            job.profile = profile
            profileAt = node.location
        }
        let commandHint = "a list like [sh, -c, \"make build\"]"
        if let node = spec.required("command", diagnostics: &diagnostics, hint: commandHint) {
            if node.scalar != nil && !node.isNull {
                diagnostics.append(
                    .error("wrong-type", "'spec.command' must be a list of strings, found a single string",
                        at: node.location, hint: commandHint))
            } else if let command = node.stringList("spec.command", diagnostics: &diagnostics) {
                if command.isEmpty {
                    diagnostics.append(.error("empty-value", "'spec.command' is empty", at: node.location, hint: commandHint))
                }
                job.command = command
            }
        }
        if let node = spec.value("workingDirectory"),
            let directory = node.string("spec.workingDirectory", diagnostics: &diagnostics)
        {
            job.workingDirectory = directory
        }
        if let node = spec.value("environment") {
            job.environment = environment(node, field: "spec.environment", diagnostics: &diagnostics)
        }
        if let node = spec.value("timeout"), let timeout = node.duration("spec.timeout", diagnostics: &diagnostics) {
            job.timeout = timeout
        }
        if let node = spec.value("retries"), let retries = node.integer("spec.retries", diagnostics: &diagnostics) {
            if (0...100).contains(retries) {
                job.retries = retries
            } else {
                diagnostics.append(
                    .error("out-of-range", "'spec.retries' must be between 0 and 100, found \(retries)", at: node.location))
            }
        }
        if let node = spec.value("image"), let image = node.string("spec.image", diagnostics: &diagnostics) {
            if image.isEmpty || image.contains(where: \.isWhitespace) {
                diagnostics.append(.error("bad-value", "'spec.image' must be an image reference like debian:12, found '\(image)'", at: node.location))
            } else {
                job.image = image
                job.imageLocation = node.location
            }
        }
        decodeRunFields(&job, spec: &spec, diagnostics: &diagnostics)
        return .job(JobSpecBox(job), profileAt: profileAt)
    }
}
