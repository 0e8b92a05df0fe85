import ArgumentParser
import RunwayManifests
import RunwayModel

/// `runway validate DIR…`: load and check manifests; diagnostics on stderr, a summary on stdout.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check manifests without running anything.",
        discussion: """
            Reads every .yaml, .yml, .json and .hcl file under each path (recursively; hidden \
            files skipped) and reports every problem as path:line:column: error: message. \
            Exit status: 0 when valid (warnings allowed), 1 when any error was found.
            """
    )

    @Argument(help: "Manifest directories or files.")
    var paths: [String]

    @OptionGroup var output: OutputOptions
    @OptionGroup var plugins: PluginOptions

    func run() throws {
        let launchers = Wiring.launchers(
            localTasks: StateOptions.defaultDirectory + "/tasks/local", enabled: plugins.enabled, trust: plugins.trust.policy())
        let load = Wiring.loader(launchers).load(paths: paths)
        switch output.output {
        case .text:
            DiagnosticPrinter.printToStandardError(load.diagnostics)
            print(ValidationSummary(load: load, paths: paths).text)
        case .json:
            print(JSONOutput.encode(ValidationSummary(load: load, paths: paths).document))
        }
        if !load.isValid { throw ExitStatus.invalid }
    }
}
