import ArgumentParser
import Foundation
import RunwayManifests
import RunwayModel
import RunwayServer
import RunwayStore

/// `runway profiles [DIR] [NAME]`: each runner profile at a glance — what it resolves to, its
/// live tasks, the jobs waiting on it — from the manifests with the state dir or store, or from a
/// controller (`--server`).
struct ProfilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "Show each runner profile: plugin, image, default, maxConcurrent, live tasks and waiting jobs.",
        discussion: """
            Reads the manifests in DIR (default: RUNWAY_MANIFESTS, else the current directory) \
            with the state dir or store, or a running controller's API with --server. With NAME, \
            one profile's resolved settings, secrets shown only by reference. Exit status: 0, 1 \
            when there is no such profile, 2 when the manifests are invalid.
            """
    )

    @Argument(help: "A manifest directory or file (anything with a '/', or that exists), and/or a profile name.")
    var arguments: [String] = []

    @OptionGroup var read: ReadOptions
    @OptionGroup var plugins: PluginOptions
    @OptionGroup var output: OutputOptions

    var paths: [String] {
        let given = arguments.filter { $0.contains("/") || FileManager.default.fileExists(atPath: $0) }
        return given.isEmpty ? (Environment.list("RUNWAY_MANIFESTS").isEmpty ? ["."] : Environment.list("RUNWAY_MANIFESTS")) : given
    }

    var name: String? { arguments.first { !($0.contains("/") || FileManager.default.fileExists(atPath: $0)) } }

    func validate() throws {
        guard arguments.filter({ !($0.contains("/") || FileManager.default.fileExists(atPath: $0)) }).count <= 1 else {
            throw ValidationError("give at most one profile name (manifest paths contain '/' or exist)")
        }
    }

    func run() async throws {
        let profiles = try await read.server.isEmpty ? local() : remote()
        if let name, profiles.isEmpty { throw failure("no profile named '\(name)'", .failure) }
        switch output.output {
        case .json: print(name == nil ? JSONOutput.encode(profiles) : JSONOutput.encode(profiles[0]))
        case .text: print(name == nil ? Self.table(profiles) : Self.detail(profiles[0]), terminator: "")
        }
    }

    /// From the manifests, and the state dir or store when there is one (no state: nothing live).
    func local() async throws -> [ProfileDocument] {
        let launchers = Wiring.launchers(
            localTasks: read.state.stateDir + "/tasks/local", enabled: plugins.enabled, trust: plugins.trust.policy())
        let load = Wiring.loader(launchers).load(paths: paths)
        DiagnosticPrinter.printToStandardError(load.diagnostics)
        guard load.isValid else { throw ExitStatus.unusable }
        var records: [JobRecord] = []
        var open: [AttemptRecord] = []
        let hasStore = !(read.storeOptions.store ?? "").isEmpty || FileManager.default.fileExists(atPath: read.state.stateDir + "/runway.sqlite")
        if hasStore, case .local(let store, _, _) = try await read.source() {
            records = try await store.jobRecords()
            open = try await store.openAttempts()
        }
        return ProfileDocument.build(desired: load.desired, records: records, open: open, name: name, detail: name != nil)
    }

    func remote() async throws -> [ProfileDocument] {
        guard case .remote(let client) = try await read.source() else { return [] }
        if let name {
            return try await client.json(ProfileDocument.self, "/v1/profiles/\(ReadClient.escape(name))").map { [$0] } ?? []
        }
        return try await client.json([ProfileDocument].self, "/v1/profiles") ?? []
    }

    static func table(_ profiles: [ProfileDocument]) -> String {
        let rows = profiles.map { profile in
            [profile.name, profile.plugin, profile.image ?? "(controller's)", profile.isDefault ? "yes" : "", profile.maxConcurrent.map(String.init) ?? "-",
             counts(profile.tasks), String(profile.waiting)]
        }
        return TextTable.render(header: ["PROFILE", "PLUGIN", "IMAGE", "DEFAULT", "MAX", "TASKS", "WAITING"], rows: rows)
    }

    static func detail(_ profile: ProfileDocument) -> String {
        var out = "profile \(profile.name)\n"
        out += "  plugin: \(profile.plugin)\n  image: \(profile.image ?? "the controller's (RUNWAY_IMAGE)")\n"
        out += "  default: \(profile.isDefault ? "yes" : "no")\n  maxConcurrent: \(profile.maxConcurrent.map(String.init) ?? "none")\n"
        out += "  startTimeout: \(profile.startTimeout)\n  tasks: \(counts(profile.tasks))\n"
        out += "  jobs: \(counts(profile.jobs)) (\(profile.waiting) waiting)\n"
        for (key, value) in (profile.environment ?? [:]).sorted(by: { $0.key < $1.key }) { out += "  environment \(key)=\(value)\n" }
        for (key, value) in (profile.secretEnvironment ?? [:]).sorted(by: { $0.key < $1.key }) { out += "  secret \(key): \(value)\n" }
        if let config = profile.config { out += "  config: \(JSONOutput.compact(config))\n" }
        return out
    }

    static func counts(_ counts: [String: Int]) -> String {
        counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
