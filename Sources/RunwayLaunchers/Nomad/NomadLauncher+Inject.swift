import RunwayModel

extension NomadLauncher {
    /// The prestart task that brings the runner into a job's image, and where it puts the bundle:
    /// the allocation directory every task of the group shares (`/alloc` in a docker task).
    static let bundleTask = "runway-bundle"
    static let bundleDirectory = "/alloc/runway-bundle"

    /// A job in its own image (docker driver): a `prestart` task of the runner image installs the
    /// runner bundle (`runway-runner --install`, the image's entrypoint) into the shared
    /// allocation directory and exits; Nomad starts the main task — still `runner` — only after
    /// it succeeded. The main task runs the job's image with the bundled runner, started through
    /// the bundle's own loader, as its entrypoint. The prestart task asks for little (its copy is
    /// over before the job starts) and gets the same kill timeout.
    static func injected(runner: inout Nomad.Task, jobImage: String, grace: Int64) -> [Nomad.Task] {
        var install: [String: JSONValue] = ["args": .array(["--install", bundleDirectory].map(JSONValue.string))]
        install["image"] = runner.Config["image"]
        let prestart = Nomad.Task(
            Name: bundleTask, Driver: "docker", Config: install, Env: nil, Resources: .init(CPU: 100, MemoryMB: 64), KillTimeout: grace,
            Templates: nil, Lifecycle: .init(Hook: "prestart"))
        runner.Config["image"] = .string(jobImage)
        runner.Config["entrypoint"] = .array(RunnerBundle.entrypoint(at: bundleDirectory).map(JSONValue.string))
        return [prestart, runner]
    }

    /// Why the prestart task kept the job's task from starting, or nil.
    static func bundleFailure(_ allocation: Nomad.Allocation) -> String? {
        let events = allocation.TaskStates?[bundleTask]?.Events ?? []
        if let failure = events.last(where: { $0.Type == "Driver Failure" }) {
            return "prestart task \(bundleTask): driver failure: \(failure.DriverError ?? failure.DisplayMessage ?? "")"
        }
        if let terminated = events.last(where: { $0.Type == "Terminated" }), let code = terminated.ExitCode, code != 0 || (terminated.Signal ?? 0) > 0 {
            return "prestart task \(bundleTask) exited with code \(code): the runner could not be brought into the allocation"
        }
        return nil
    }
}
