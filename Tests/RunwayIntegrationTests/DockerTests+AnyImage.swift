import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

extension DockerTests {
    /// Jobs in images that hold nothing of Runway (scripts/test-images): a debootstrapped Debian,
    /// busybox, one whose only C library is musl, and a scratch image with one static binary.
    /// The runner is brought in from the runner image's bundle on a read-only volume, runs each
    /// command in its image, and nothing is left but that volume (one per runner image). The five
    /// start together, so they also check that no task mounts the volume before it is filled.
    @Test func jobsRunInAnyImageWithTheRunnerBroughtIn() async throws {
        let setup = try Setup()
        let workspace = setup.workspace
        func job(_ name: String, image: String, _ command: String) -> String {
            "---\napiVersion: runway/v1\nkind: Job\nmetadata: {name: \(name)}\nspec: {image: \"\(image)\", command: \(command)}\n"
        }
        try workspace.write("all.yaml", setup.profile()
            + job("debian", image: "runway-test/debian:12", "[cat, /etc/debian_version]")
            + job("busybox", image: "runway-test/busybox:1", #"[sh, -c, "echo busybox $(cat /proc/1/cmdline | tr '\\0' ' ')"]"#)
            + job("musl", image: "runway-test/musl:1", "[/bin/hello]")
            + job("scratch", image: "runway-test/scratch:1", #"[/busybox, echo, "static only"]"#)
            + job("failing", image: "runway-test/scratch:1", "[/busybox, false]"))
        let result = try await setup.apply()
        #expect(result.status == 1, "failing fails: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("4/5 jobs succeeded"), "\(result.stdout)")
        func logs(_ job: String) async throws -> String { try await RunwayExecutable.run(["logs", job, "--state-dir", workspace.state]).stdout }
        #expect(try await logs("debian").hasPrefix("12."))
        #expect(try await logs("busybox").hasPrefix("busybox \(RunnerBundle.entrypoint.joined(separator: " ")) runner"), "PID 1 is the brought-in runner")
        #expect(try await logs("musl") == "hello from musl\n")
        #expect(try await logs("scratch") == "static only\n")
        #expect(try await workspace.records()["failing"]?.exitCode == 1)
        let leftovers = await setup.leftovers
        #expect(leftovers.isEmpty, "\(leftovers)")
        let docker = "DOCKER_HOST='\(setup.host)' docker"
        let image = try await RunningCommand.shell("\(docker) image inspect -f '{{.Id}}' \(TestDocker.image)", directory: workspace.root)
        let volume = "runway-runner-" + image.stdout.replacingOccurrences(of: "sha256:", with: "").prefix(16)
        let volumes = try await RunningCommand.shell("\(docker) volume ls -q --filter name=\(volume)", directory: workspace.root)
        #expect(volumes.stdout.split(separator: "\n").map(String.init).sorted() == [volume, volume + "-ready"],
            "the bundle volume of this runner image (and its filled mark) stays, for the next task: \(volumes.stdout)")
    }

    /// A job image on a platform that cannot take one is refused at validate time, at its place.
    @Test func aJobImageOnALocalProfileIsAValidateError() async throws {
        let workspace = try Workspace()
        let path = try workspace.write("all.yaml", workspace.profile() + workspace.job("x", "true", spec: "  image: debian:12\n"))
        let result = try await RunwayExecutable.run(["validate", workspace.manifests])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):16:10: error: job 'x' sets 'spec.image', but its profile 'local' runs its tasks as processes on this machine, in no image"), "\(result.stderr)")
    }
}
