import ArgumentParser

/// `--output text|json`, the same option on every command that prints data.
struct OutputOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(name: [.customShort("o"), .long], help: "Output format: text (for people) or json (for programs).")
    var output: Format = .text
}

/// `--state-dir`, where the controller keeps its store, logs and task records.
struct StateOptions: ParsableArguments {
    static let defaultDirectory = "./.runway"

    @Option(name: .long, help: "Directory of the state store, logs and task records. Env: RUNWAY_STATE_DIR.")
    var stateDir: String = Environment.string("RUNWAY_STATE_DIR", default: StateOptions.defaultDirectory)
}
