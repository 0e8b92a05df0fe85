// Runway's benchmarks, each measured beside a floor in the same run.
//
//   swift build -c release && .build/release/runway-bench [manifests|local|all] [options]
//
// manifests: --files N (10,000) --runs R (5)
// local:     --jobs N (1,000) --parallelism P (16)
// controller: --changes N (100) --idle-seconds S (60)
// docker:    --containers N (30); needs DOCKER_HOST and the image scripts/build-runner-image makes
//            (not part of `all`)
// ecs:       --tasks N (500); needs RUNWAY_TEST_MOTO_URL (a moto_server; not part of `all`)
// kubernetes: --tasks N (500); needs RUNWAY_TEST_KUBECONFIG (Tests/Servers/kube_apiserver.py; not part of `all`)
// kubernetes-watch: --tasks N --idle-seconds S; the same server with an `inert:1` image: idle API requests/min, listing
//            beside watching, and how soon a watched task's end is seen (not part of `all`)
// nomad:     --tasks N (500); needs RUNWAY_TEST_NOMAD_DIR (Tests/Servers/nomad_apiserver.py; not part of `all`)
// stores:    --jobs N (1,000) --runs R; needs RUNWAY_TEST_POSTGRES_URL (scripts/postgres-server; not part of `all`)
// plan:      --jobs N; one plan of N jobs against N tasks, for scripts/plan-instructions (not part of `all`)
// heartbeats: the runner API's heartbeat rate beside /healthz on the same server; needs wrk (not part of `all`)
// scale:     --jobs N (100,000) --live L (1,000) --changes C --idle-seconds S; one controller with N jobs, all but L
//            finished: change latency, resync, memory, heartbeats (not part of `all`)
import Foundation

struct Options {
    var mode = "all"
    var files = 10_000
    var runs = 5
    var jobs = 1_000
    var parallelism = 16
    var changes = 100
    var idleSeconds = 60
    var containers = 30
    var tasks = 500
    var live = 1_000
    /// Whether --jobs was given (scale defaults to 100,000 jobs, the others to 1,000).
    var jobsGiven = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "manifests", "local", "controller", "docker", "ecs", "kubernetes", "kubernetes-watch", "nomad", "stores", "heartbeats", "plan", "scale", "all": mode = argument
            case "--tasks": tasks = Int(iterator.next() ?? "") ?? tasks
            case "--containers": containers = Int(iterator.next() ?? "") ?? containers
            case "--changes": changes = Int(iterator.next() ?? "") ?? changes
            case "--idle-seconds": idleSeconds = Int(iterator.next() ?? "") ?? idleSeconds
            case "--files": files = Int(iterator.next() ?? "") ?? files
            case "--runs": runs = Int(iterator.next() ?? "") ?? runs
            case "--jobs": jobs = Int(iterator.next() ?? "") ?? jobs; jobsGiven = true
            case "--live": live = Int(iterator.next() ?? "") ?? live
            case "--parallelism": parallelism = Int(iterator.next() ?? "") ?? parallelism
            default:
                FileHandle.standardError.write(Data("usage: runway-bench [manifests|local|controller|docker|ecs|kubernetes|kubernetes-watch|nomad|stores|heartbeats|plan|scale|all] [--files N] [--runs R] [--jobs N] [--parallelism P] [--changes N] [--idle-seconds S] [--containers N] [--tasks N] [--live N]\n".utf8))
                exit(2)
            }
        }
    }
}

let options = Options(CommandLine.arguments)
if options.mode == "all" || options.mode == "manifests" { try manifestBenchmark(options) }
if options.mode == "all" || options.mode == "local" { try await localBenchmark(options) }
if options.mode == "all" || options.mode == "controller" { try await controllerBenchmark(options) }
if options.mode == "docker" { try await dockerBenchmark(options) }
if options.mode == "ecs" { try await ecsBenchmark(options) }
if options.mode == "kubernetes" { try await kubernetesBenchmark(options) }
if options.mode == "kubernetes-watch" { try await kubernetesWatchBenchmark(options) }
if options.mode == "nomad" { try await nomadBenchmark(options) }
if options.mode == "stores" { try await storesBenchmark(options) }
if options.mode == "heartbeats" { try await heartbeatBenchmark(options) }
if options.mode == "plan" { try planBenchmark(options) }
if options.mode == "scale" { try await scaleBenchmark(options) }
