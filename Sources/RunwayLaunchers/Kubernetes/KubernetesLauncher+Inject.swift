import RunwayModel

extension KubernetesLauncher {
    /// The pod volume holding the runner bundle, and where its init container writes it.
    static let bundleVolume = "runway-bundle"
    static let bundleInstallPath = "/mnt/runway-bundle"

    /// A job in its own image: an init container of the runner image installs the runner bundle
    /// (`runway-runner --install`, the image's entrypoint) into an `emptyDir`; the job's container
    /// — still named `runner` — runs in the job's image, mounts that volume read-only at the
    /// bundle's path and starts the bundled runner through its own loader, so the image needs
    /// nothing of Runway. The init container has the runner container's resources and security
    /// context, so the pod asks for no more than it would without it.
    static func injectRunner(into pod: inout Kubernetes.PodSpec, runnerImage: String, jobImage: String) {
        guard var runner = pod.containers.first else { return }
        let install = Kubernetes.Container(
            name: bundleVolume, image: runnerImage, imagePullPolicy: runner.imagePullPolicy, command: nil,
            args: ["--install", bundleInstallPath], resources: runner.resources, securityContext: runner.securityContext,
            volumeMounts: [.init(name: bundleVolume, mountPath: bundleInstallPath)])
        runner.image = jobImage
        runner.command = RunnerBundle.entrypoint
        runner.volumeMounts = (runner.volumeMounts ?? []) + [.init(name: bundleVolume, mountPath: RunnerBundle.path, readOnly: true)]
        pod.containers[0] = runner
        pod.initContainers = (pod.initContainers ?? []) + [install]
        pod.volumes = (pod.volumes ?? []) + [.init(name: bundleVolume, emptyDir: .init())]
    }
}
