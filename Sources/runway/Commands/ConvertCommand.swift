import ArgumentParser
import RunwayManifests
import RunwayModel

extension ManifestSyntax: ExpressibleByArgument {}

/// `runway convert FILE --to yaml|hcl`: the same objects in the other syntax.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Print a manifest file's objects in the other syntax (YAML or HCL).",
        discussion: """
            Reading the output back gives the same profiles and jobs. Comments and layout are \
            not kept; fields at their defaults are left out. Exit status: 0, or 2 when the file \
            has errors (printed as path:line:column: error: message).
            """
    )

    @Argument(help: "A manifest file (.yaml, .yml, .json or .hcl).")
    var file: String

    @Option(name: .long, help: "The syntax to print: yaml or hcl.")
    var to: ManifestSyntax

    func run() throws {
        print(try ManifestText.convert(file, to: to), terminator: "")
    }
}

/// `runway fmt FILE`: the file's objects, printed canonically in its own syntax.
struct FmtCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fmt",
        abstract: "Print a manifest file in canonical form, in its own syntax.",
        discussion: """
            Prints to standard output (the file is not changed). Comments and layout are not \
            kept; fields at their defaults are left out. Exit status: 0, or 2 when the file has \
            errors.
            """
    )

    @Argument(help: "A manifest file (.yaml, .yml, .json or .hcl).")
    var file: String

    func run() throws {
        print(try ManifestText.convert(file, to: ManifestSyntax(path: file)), terminator: "")
    }
}

/// Reads one file's documents (decoded, not checked against other files) and prints them.
enum ManifestText {
    static func convert(_ file: String, to syntax: ManifestSyntax) throws -> String {
        let loader = Wiring.loader(Wiring.launchers(localTasks: StateOptions.defaultDirectory + "/tasks/local", trust: TrustPolicy()))
        let (documents, diagnostics) = loader.documents(ofFile: file)
        DiagnosticPrinter.printToStandardError(diagnostics)
        guard !diagnostics.containsErrors else { throw ExitStatus.unusable }
        return ManifestEmitter.text(documents, as: syntax)
    }
}
