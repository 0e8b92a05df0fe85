// Jobs per second through one controller with each state store, side by side in one run:
// `runway apply` on N trivial local jobs with SQLite (the state directory), then with PostgreSQL
// (`--store`, a fresh database on RUNWAY_TEST_POSTGRES_URL), alternated `--runs` times each.
import Foundation
import RunwayTestSupport

func storesBenchmark(_ options: Options) async throws {
    let runway = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("runway").path
    guard FileManager.default.isExecutableFile(atPath: runway) else {
        throw BenchError("build the runway binary first (swift build -c release): \(runway) is missing")
    }
    guard TestPostgres.url != nil else { throw BenchError("set RUNWAY_TEST_POSTGRES_URL (scripts/postgres-server start DIR prints one)") }
    let root = try scratchDirectory("stores")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var manifest = "apiVersion: runway/v1\nkind: RunnerProfile\nmetadata: {name: bench}\nspec: {plugin: local, default: true, startTimeout: 5m}\n"
    for index in 1...options.jobs {
        manifest += "---\napiVersion: runway/v1\nkind: Job\nmetadata: {name: job-\(index)}\nspec: {command: [\"true\"]}\n"
    }
    try manifest.write(toFile: root + "/manifests/jobs.yaml", atomically: false, encoding: .utf8)
    var rates: [String: [Double]] = ["sqlite": [], "postgres": []]
    for run in 1...options.runs {
        for store in ["sqlite", "postgres"] {
            var arguments = [runway, "apply", root + "/manifests", "--state-dir", root + "/state-\(store)-\(run)", "--listen", "127.0.0.1:0",
                "--parallelism", String(options.parallelism)]
            if store == "postgres" { arguments += ["--store", try await TestPostgres.freshDatabase()] }
            let started = ContinuousClock.now
            let status = try runAndWait(arguments, output: root + "/apply-\(store)-\(run).log")
            let seconds = (ContinuousClock.now - started).timeInterval
            guard status == 0 else { throw BenchError("runway apply (\(store)) exited \(status); see \(root)/apply-\(store)-\(run).log") }
            rates[store, default: []].append(Double(options.jobs) / seconds)
        }
    }
    let sqlite = percentile(rates["sqlite"]!, 0.5)
    let postgres = percentile(rates["postgres"]!, 0.5)
    print("runway-bench stores: \(options.jobs) trivial local jobs through `runway apply`, parallelism \(options.parallelism), \(options.runs) runs each, alternated")
    print(String(format: "  SQLite:     median %7.1f jobs/s  (runs: %@)", sqlite, rates["sqlite"]!.map { String(format: "%.1f", $0) }.joined(separator: ", ")))
    print(String(format: "  PostgreSQL: median %7.1f jobs/s  (runs: %@); %.2fx SQLite's rate", postgres,
        rates["postgres"]!.map { String(format: "%.1f", $0) }.joined(separator: ", "), postgres / sqlite))
}
