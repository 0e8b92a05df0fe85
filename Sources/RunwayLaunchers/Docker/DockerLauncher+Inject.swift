import Foundation
import RunwayModel

extension DockerLauncher {
    /// The named volume holding the runner bundle of `runnerImage` (`runway-runner-<image id>`),
    /// filled once per runner image: the engine fills a new, empty volume with what the image holds
    /// at the mount path, so a container of the runner image that mounts it runs the bundled
    /// runner's `--version` once (which also proves the bundle starts) and is removed. Then a
    /// second, empty volume (`…-ready`) marks it filled, so a controller stopped mid-fill leaves a
    /// fill the next start does again, never an empty bundle mounted. Starts in this process wait
    /// for the one fill in progress. Any task of any job image mounts the volume read-only.
    func runnerVolume(runnerImage: String, engine: DockerEngine, task: String, controllerID: String) async throws -> String {
        let found = try await engine.send("GET", "/images/\(Self.pathEscaped(runnerImage))/json")
        guard found.status == 200, let image = try? JSONDecoder().decode(ImageID.self, from: Data(found.body)) else {
            throw DockerError.unexpected("GET /images/\(runnerImage)/json", status: found.status, message: found.text)
        }
        let volume = "runway-runner-" + image.Id.replacingOccurrences(of: "sha256:", with: "").prefix(16)
        if try await engine.send("GET", "/volumes/\(volume)-ready").status == 200 { return volume }
        let fill = bundleFills.withLock { fills in
            if let running = fills[volume] { return running }
            let started = Task {
                try await self.fillBundle(volume, runnerImage: runnerImage, engine: engine, task: task, controllerID: controllerID)
            }
            fills[volume] = started
            return started
        }
        defer { bundleFills.withLock { _ = $0.removeValue(forKey: volume) } }
        try await fill.value
        return volume
    }

    /// Whether `container` is the filler of a bundle volume this launcher is filling now.
    func isFillingBundle(container: String) -> Bool {
        bundleFills.withLock { fills in fills.keys.contains { container.hasPrefix(Self.fillerPrefix(of: $0)) } }
    }

    /// The start of the names of `volume`'s fillers (each adds a random suffix).
    static func fillerPrefix(of volume: String) -> String { volume + "-fill-" }

    private func fillBundle(_ volume: String, runnerImage: String, engine: DockerEngine, task: String, controllerID: String) async throws {
        let labels = [TaskLabels.managedBy: controllerID, "runway.io/runner-image": runnerImage]
        let created = try await engine.send("POST", "/volumes/create", json: VolumeCreate(Name: volume, Labels: labels))
        guard created.status == 201 else {
            throw DockerError.unexpected("POST /volumes/create", status: created.status, message: created.text)
        }
        // A container of the runner image mounting the volume at the bundle's path: the engine
        // copies the bundle in (when the volume is empty); the bundled runner prints its version.
        let filler = Self.fillerPrefix(of: volume) + UUID().uuidString.prefix(8).lowercased()
        let body = ContainerCreate(
            Image: runnerImage, Entrypoint: RunnerBundle.entrypoint, Cmd: ["--version"], Env: [], Labels: labels, User: nil,
            HostConfig: .init(NetworkMode: "none", Binds: ["\(volume):\(RunnerBundle.path)"], Memory: nil, NanoCpus: nil, ExtraHosts: nil, Init: nil))
        let made = try await engine.send("POST", "/containers/create", query: [("name", filler)], json: body)
        guard made.status == 201 else {
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task,
                "cannot take the runner bundle from \(runnerImage) (has it \(RunnerBundle.path)? see scripts/runner-bundle): HTTP \(made.status): \(DockerAPIMessage.text(made.text))")
        }
        let started = try await engine.send("POST", "/containers/\(filler)/start")
        let waited = started.status == 204 ? try await engine.send("POST", "/containers/\(filler)/wait", timeout: .seconds(60)) : started
        let exit = (try? JSONDecoder().decode(WaitResult.self, from: Data(waited.body)))?.StatusCode
        _ = try? await engine.send("DELETE", "/containers/\(filler)", query: [("force", "true")])
        guard started.status == 204, waited.status == 200, exit == 0 else {
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task,
                "the runner bundle of \(runnerImage) does not start (HTTP \(started.status)/\(waited.status), exit \(exit.map(String.init) ?? "?")): \(DockerAPIMessage.text(waited.text))")
        }
        let ready = try await engine.send("POST", "/volumes/create", json: VolumeCreate(Name: volume + "-ready", Labels: labels))
        guard ready.status == 201 else { throw DockerError.unexpected("POST /volumes/create", status: ready.status, message: ready.text) }
        logger.info("runner bundle volume filled", metadata: ["volume": "\(volume)", "runner.image": "\(runnerImage)"])
    }
}

/// `GET /images/{name}/json`: the image's id.
struct ImageID: Decodable {
    var Id: String
}

/// `POST /containers/{id}/wait`.
struct WaitResult: Decodable {
    var StatusCode: Int
}

/// `POST /volumes/create`.
struct VolumeCreate: Encodable {
    var Name: String
    var Labels: [String: String]
}
