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

    @Option(name: .long, help: "Plan as of this time (ISO 8601, like 2026-12-01T02:00:00Z) instead of now: what a controller's pass would do then.")
    var at: String?

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
        var now = Date()
        if let at {
            guard let date = ISO8601DateFormatter().date(from: at) else {
                throw ValidationError("--at must be an ISO 8601 time like 2026-12-01T02:00:00Z, got '\(at)'")
            }
            now = date
        }
        // A state dir that does not exist yet has no tasks (and plan must not create it).
        let observed = FileManager.default.fileExists(atPath: state.stateDir)
            ? try await launchers.listTasks(managedBy: controllerID) : []
        let store = try Wiring.existingStore(state.stateDir)
        var records = try await store?.jobRecords() ?? []
        // The runs a controller's pass would queue (operators' requests, schedule ticks), then
        // what it would settle.
        let queued = RunQueue().queue(desired: load.desired, records: records, requests: try await store?.openRequests() ?? [], now: now)
        records = Self.merged(records, queued.records)
        let changes = Settlement().settle(desired: load.desired, observed: observed, records: records, now: now) { 0.5 }
        records = Self.merged(records, changes)
        let plan = Planner(queuesRuns: false).plan(desired: load.desired, observed: observed, records: records, now: now)
        switch output.output {
        case .text: print(PlanPrinter.text(plan), terminator: "")
        case .json: print(JSONOutput.encode(PlanPrinter.document(plan)))
        }
    }

    /// `records` with `changes` in place of the records they change.
    static func merged(_ records: [JobRecord], _ changes: [JobRecord]) -> [JobRecord] {
        let changed = Set(changes.map(\.key))
        return records.filter { !changed.contains($0.key) } + changes
    }
}
