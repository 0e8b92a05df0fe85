import Foundation
import RunwayModel

extension DockerLauncher {
    /// The named volume holding the runner bundle of `runnerImage` (`runway-runner-<image id>`),
    /// made once per runner image: the engine fills a new, empty volume with what the image holds
    /// at the mount path, so a container of the runner image that mounts it runs the bundled
    /// runner's `--version` once (which also proves the bundle starts) and is removed. Any later
    /// task of any job image mounts the same volume read-only.
    func runnerVolume(runnerImage: String, engine: DockerEngine, task: String, controllerID: String) async throws -> String {
        let found = try await engine.send("GET", "/images/\(Self.pathEscaped(runnerImage))/json")
        guard found.status == 200, let image = try? JSONDecoder().decode(ImageID.self, from: Data(found.body)) else {
            throw DockerError.unexpected("GET /images/\(runnerImage)/json", status: found.status, message: found.text)
        }
        let digest = image.Id.replacingOccurrences(of: "sha256:", with: "")
        let volume = "runway-runner-" + digest.prefix(16)
        let existing = try await engine.send("GET", "/volumes/\(volume)")
        if existing.status == 200 { return volume }
        guard existing.status == 404 else { throw DockerError.unexpected("GET /volumes/\(volume)", status: existing.status, message: existing.text) }
        let created = try await engine.send("POST", "/volumes/create", json: VolumeCreate(
            Name: volume, Labels: [TaskLabels.managedBy: controllerID, "runway.io/runner-image": runnerImage]))
        guard created.status == 201 else {
            throw DockerError.unexpected("POST /volumes/create", status: created.status, message: created.text)
        }
        // A container of the runner image mounting the new volume at the bundle's path: the
        // engine copies the bundle in; the bundled runner prints its version and exits.
        let filler = "\(volume)-fill-\(UUID().uuidString.prefix(8).lowercased())"
        let body = ContainerCreate(
            Image: runnerImage, Entrypoint: RunnerBundle.entrypoint, Cmd: ["--version"], Env: [],
            Labels: [TaskLabels.managedBy: controllerID], User: nil,
            HostConfig: .init(NetworkMode: "none", Binds: ["\(volume):\(RunnerBundle.path)"], Memory: nil, NanoCpus: nil, ExtraHosts: nil, Init: nil))
        let made = try await engine.send("POST", "/containers/create", query: [("name", filler)], json: body)
        guard made.status == 201 else {
            _ = try? await engine.send("DELETE", "/volumes/\(volume)")
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task,
                "cannot take the runner bundle from \(runnerImage) (has it \(RunnerBundle.path)? see scripts/runner-bundle): HTTP \(made.status): \(DockerAPIMessage.text(made.text))")
        }
        let started = try await engine.send("POST", "/containers/\(filler)/start")
        let waited = started.status == 204 ? try await engine.send("POST", "/containers/\(filler)/wait", timeout: .seconds(60)) : started
        let exit = (try? JSONDecoder().decode(WaitResult.self, from: Data(waited.body)))?.StatusCode
        guard started.status == 204, waited.status == 200, exit == 0 else {
            _ = try? await engine.send("DELETE", "/containers/\(filler)", query: [("force", "true")])
            _ = try? await engine.send("DELETE", "/volumes/\(volume)")
            throw LauncherError(.invalidSpec, plugin: Self.plugin, task: task,
                "the runner bundle of \(runnerImage) does not start (HTTP \(started.status)/\(waited.status), exit \(exit.map(String.init) ?? "?")): \(DockerAPIMessage.text(waited.text))")
        }
        _ = try await engine.send("DELETE", "/containers/\(filler)", query: [("force", "true")])
        let filled = try await engine.send("GET", "/volumes/\(volume)")
        guard filled.status == 200 else { throw DockerError.unexpected("GET /volumes/\(volume)", status: filled.status, message: filled.text) }
        logger.info("runner bundle volume made", metadata: ["volume": "\(volume)", "runner.image": "\(runnerImage)"])
        return volume
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
