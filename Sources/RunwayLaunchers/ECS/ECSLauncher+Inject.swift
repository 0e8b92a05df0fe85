import Crypto
import Foundation
import RunwayModel

extension ECSLauncher {
    /// The bundle's task volume and where the bundle container writes it.
    static let bundleVolume = "runway-bundle"
    static let bundleInstallPath = "/mnt/runway-bundle"
    /// MiB the bundle's container reserves.
    static let bundleMemory = 64

    /// A task definition for a job in its own image (RunTask cannot change a container's image):
    /// family `runway-<profile>-<12 hex of the image's SHA-256>`, one per (profile, job image);
    /// a non-essential container of the runner image installs the runner bundle into a task
    /// volume (`runway-runner --install`), and the job's container — still named `runner`, the
    /// one RunTask's overrides and the state mapping name — starts only after it exited with
    /// success (`dependsOn` SUCCESS), mounts the volume read-only and runs the bundle's runner.
    static func injected(
        family: String, runner: RegisterTaskDefinitionRequest.Container, runnerImage: String, jobImage: String
    ) -> (String, [RegisterTaskDefinitionRequest.Container], [RegisterTaskDefinitionRequest.Volume]) {
        let digest = SHA256.hash(data: Data(jobImage.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        var bundle = RegisterTaskDefinitionRequest.Container(image: runnerImage, entryPoint: nil, command: ["--install", bundleInstallPath])
        bundle.name = bundleVolume
        bundle.essential = false
        bundle.logConfiguration = runner.logConfiguration
        bundle.mountPoints = [.init(sourceVolume: bundleVolume, containerPath: bundleInstallPath, readOnly: false)]
        // The task's memory, shared: what the containers reserve adds up to it (the bundle's copy
        // needs little and is over before the job starts); the task's own limit stays the cap.
        bundle.memoryReservation = bundleMemory
        var job = runner
        job.memory = nil
        job.memoryReservation = max((runner.memory ?? 0) - bundleMemory, bundleMemory)
        job.image = jobImage
        job.entryPoint = RunnerBundle.entrypoint
        job.mountPoints = [.init(sourceVolume: bundleVolume, containerPath: RunnerBundle.path, readOnly: true)]
        job.dependsOn = [.init(containerName: bundleVolume, condition: "SUCCESS")]
        return ("\(family)-\(digest)", [bundle, job], [.init(name: bundleVolume)])
    }
}
