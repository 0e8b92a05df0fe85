import ArgumentParser
import Foundation
import RunwayManifests
import RunwayModel
import RunwayPlanner

/// `runway plan DIR`: what one reconcile pass would start, stop and hold back, and why.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what one reconcile pass would start and stop, and why.",
        discussion: """
            Compares the manifests with the job records and tasks the controller knows of and \
            prints the actions, each with its reason. Nothing is started or stopped. \
            Exit status: 0, or 2 when the manifests are invalid.
            """
    )

    @Argument(help: "The manifest directory (or files).")
    var paths: [String]

    @OptionGroup var state: StateOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let load = ManifestLoader(configuration: .init(plugins: LauncherCatalog.plugins)).load(paths: paths)
        DiagnosticPrinter.printToStandardError(load.diagnostics)
        guard load.isValid else {
            print(ValidationSummary(load: load, paths: paths).text)
            throw ExitStatus.unusable
        }
        // No launcher or store is wired yet: nothing is observed and no job has a record.
        let plan = Planner().plan(desired: load.desired, observed: [], records: [], now: Date())
        switch output.output {
        case .text: print(PlanPrinter.text(plan), terminator: "")
        case .json: print(JSONOutput.encode(PlanPrinter.document(plan)))
        }
    }
}
