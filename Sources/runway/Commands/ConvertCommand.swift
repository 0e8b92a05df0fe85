import ArgumentParser
import Foundation
import RunwayManifests
import RunwayModel

extension ManifestSyntax: ExpressibleByArgument {}

/// Where `convert` reads from: a Runway manifest file, or a Waypoint runner profile.
enum ConvertSource: String, ExpressibleByArgument, CaseIterable {
    case manifest
    case waypoint
}

/// `runway convert FILE --to yaml|hcl`: the same objects in the other syntax; with `--from
/// waypoint`, a Waypoint runner profile as a RunnerProfile manifest.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Print a manifest file's objects in the other syntax (YAML or HCL), or a Waypoint runner profile as a manifest.",
        discussion: """
            Reading the output back gives the same profiles and jobs. Comments and layout are \
            not kept; fields at their defaults are left out. With --from waypoint, FILE is what \
            `waypoint runner profile inspect -json NAME` prints: its plugin config keys are \
            mapped to the Runway launcher's, and every key that cannot be is named, with the \
            reason, on stderr and in comments atop the manifest. Exit status: 0, or 2 when the \
            file has errors (printed as path:line:column: error: message).
            """
    )

    @Argument(help: "A manifest file (.yaml, .yml, .json or .hcl), or with --from waypoint a runner profile's JSON.")
    var file: String

    @Option(name: .long, help: "The syntax to print: yaml or hcl (default with --from waypoint: yaml).")
    var to: ManifestSyntax?

    @Option(name: .long, help: "What FILE holds: manifest, or waypoint (`waypoint runner profile inspect -json`).")
    var from: ConvertSource = .manifest

    func validate() throws {
        guard to != nil || from == .waypoint else { throw ValidationError("--to is required: yaml or hcl") }
    }

    func run() throws {
        switch from {
        case .manifest: print(try ManifestText.convert(file, to: to ?? .yaml), terminator: "")
        case .waypoint: print(try ManifestText.fromWaypoint(file, to: to ?? .yaml), terminator: "")
        }
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

    /// A Waypoint runner profile as a manifest, the keys not mapped named on stderr and atop it.
    static func fromWaypoint(_ file: String, to syntax: ManifestSyntax) throws -> String {
        var diagnostics: [Diagnostic] = []
        let conversion = WaypointProfile.convert(file: file, diagnostics: &diagnostics)
        DiagnosticPrinter.printToStandardError(diagnostics)
        guard let conversion, !diagnostics.containsErrors else { throw ExitStatus.unusable }
        var header = "# Converted from the Waypoint runner profile in \(file) by `runway convert --from waypoint`.\n"
        for unmapped in conversion.unmapped {
            FileHandle.standardError.write(Data("\(file): not mapped: \(unmapped)\n".utf8))
            header += "# not mapped: \(unmapped)\n"
        }
        return header + ManifestEmitter.text([.profile(conversion.profile)], as: syntax)
    }
}
