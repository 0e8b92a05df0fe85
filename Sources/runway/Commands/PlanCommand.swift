import ArgumentParser
import Foundation
import RunwayManifests
import RunwayModel
import RunwayPlanner

/// `runway plan DIR`: what one reconcile pass would start, stop and hold back, and why.
struct PlanCommand: AsyncParsableCommand {
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
    @OptionGroup var launcherOptions: LauncherOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: "Names this installation on every platform (label runway.io/managed-by).")
    var controllerID: String = "runway"

    func run() async throws {
        let launchers = launcherOptions.launchers(state: state)
        let load = Wiring.loader(launchers).load(paths: paths)
        DiagnosticPrinter.printToStandardError(load.diagnostics)
        guard load.isValid else {
            print(ValidationSummary(load: load, paths: paths).text)
            throw ExitStatus.unusable
        }
        // What the launchers see and the store remembers (both empty for a fresh state dir),
        // settled in memory as a pass would, then planned. Nothing is written.
        let now = Date()
        // A state dir that does not exist yet has no tasks (and plan must not create it).
        let observed = FileManager.default.fileExists(atPath: state.stateDir)
            ? try await launchers.listTasks(managedBy: controllerID) : []
        var records = try await Wiring.existingStore(state.stateDir)?.jobRecords() ?? []
        let changes = Settlement().settle(desired: load.desired, observed: observed, records: records, now: now) { 0.5 }
        let changed = Set(changes.map(\.key))
        records = records.filter { !changed.contains($0.key) } + changes
        let plan = Planner().plan(desired: load.desired, observed: observed, records: records, now: now)
        switch output.output {
        case .text: print(PlanPrinter.text(plan), terminator: "")
        case .json: print(JSONOutput.encode(PlanPrinter.document(plan)))
        }
    }
}
