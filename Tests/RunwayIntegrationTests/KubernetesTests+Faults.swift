import Foundation
import RunwayModel
import RunwayTestSupport
import Testing

/// What the Kubernetes launcher and the controller do when the API server misbehaves: stale
/// lists, failing or hanging lists under `apply`, and faults of every kind.
extension KubernetesTests {
    /// Lists of Jobs served by a lagging cache leave out every Job younger than 20 s. A Job the
    /// controller created is not forgotten meanwhile: it is not created again, its job runs
    /// once, and a runner that never connects still meets its start timeout on time, its Job
    /// deleted by the name the create gave.
    @Test func aJobMissingFromStaleListsRunsOnceAndItsStartTimeoutStillFires() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let runs = workspace.root + "/runs"
        try await setup.cluster.fault(#"{"namespace":"\#(setup.namespace)","verb":"list","resource":"jobs","stale":20,"count":100000}"#)
        try workspace.write("all.yaml", setup.profile()
            + workspace.job("once", "echo $RUNWAY_ATTEMPT >> \(runs); echo ran")
            + """
            ---
            apiVersion: runway/v1
            kind: RunnerProfile
            metadata: {name: mute}
            spec:
              plugin: kubernetes
              image: \(TestKubernetes.silentImage)
              startTimeout: 3s
              config: {namespace: \(setup.namespace), grace: 1s}

            """ + workspace.job("never", "echo never", profile: "mute"))
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stderr)")
        #expect((try? String(contentsOfFile: runs, encoding: .utf8)) == "1\n", "ran once")
        let records = try await workspace.records()
        #expect(records["once"]?.state == .succeeded)
        #expect(records["never"]?.lastReason == "attempt 1: start-timeout (runner did not connect within 3s)")
        let never = try #require(try await workspace.attempts("never").first)
        let judged = try #require(never.stopRequestedAt).timeIntervalSince(never.requestedAt)
        #expect(judged >= 3 && judged < 8, "start-timeout judged after \(judged) s")
        let requests = try await setup.requests()
        #expect(setup.count(requests, verb: "create", resource: "jobs") == 2, "each Job created once")
        #expect(setup.count(requests, verb: "delete", resource: "jobs", status: 200) == 2, "each Job deleted")
    }

    /// `apply` whose listings and watches start failing mid-run (every list and watch of Jobs
    /// answers 500, the open watches end), or hang
    /// and then meet Ctrl-C, stops every Job it started all the same (by the handles its creates
    /// returned), records its job cancelled, and exits 1 naming why.
    @Test(arguments: ["fail", "hang"]) func applyStopsWhatItStartedWhenListingsFailOrHang(mode: String) async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let marker = workspace.root + "/running"
        try workspace.write("all.yaml", setup.profile() + workspace.job("long", "touch \(marker); sleep 120"))
        let apply = try workspace.startApply(extra: ["--controller-id", setup.controllerID, "--stop-timeout", "30s", "--failure-timeout", "3s"], environment: setup.environment)
        #expect(await RunningCommand.until(timeout: .seconds(120)) { FileManager.default.fileExists(atPath: marker) }, "\(apply.stderr)")
        let fault = mode == "fail" ? #""status":500"# : #""delay":300"#
        for verb in ["list", "watch"] {
            try await setup.cluster.fault(#"{"namespace":"\#(setup.namespace)","verb":"\#(verb)","resource":"jobs",\#(fault),"count":100000}"#)
        }
        try await setup.cluster.request("POST", "/_test/watches/close")  // the open watches end too, as when the server goes away
        if mode == "hang" {
            try await Task.sleep(for: .seconds(2))  // a pass is now waiting on a list that hangs
            kill(apply.pid, SIGINT)
        }
        let result = await apply.wait(timeout: .seconds(90))
        #expect(result.status == 1, "\(result.stderr)")
        if mode == "fail" { #expect(result.stderr.contains("runway apply: the run failed:"), "\(result.stderr)") }
        #expect(!result.stderr.contains("could not stop task"), "\(result.stderr)")
        let record = try #require(try await workspace.records()["long"])
        #expect(record.state == .cancelled, "\(record)\n\(result.stderr)")
        let requests = try await setup.requests()
        #expect(setup.count(requests, verb: "delete", resource: "jobs", status: 200) == 1, "the Job was deleted")
    }

    /// Faults of every kind the test API server injects — 500s and 503s on creates, lists and
    /// deletes, 429s with Retry-After, answers held back — while jobs of every kind run: each
    /// job ends as its manifest says, and nothing is left.
    @Test func mixedFaultsLeaveEveryJobEndingAsItsManifestSays() async throws {
        let setup = try await Setup()
        let workspace = setup.workspace
        let namespace = setup.namespace
        let faults = [
            #"{"verb":"create","resource":"jobs","status":500,"count":3}"#, #"{"verb":"create","resource":"secrets","status":503,"count":2}"#,
            #"{"verb":"list","resource":"jobs","status":500,"count":3}"#, #"{"verb":"list","resource":"pods","status":429,"retryAfter":1,"count":3}"#,
            #"{"verb":"delete","resource":"jobs","status":500,"count":2}"#, #"{"verb":"list","resource":"jobs","delay":2,"count":2}"#,
        ]
        for fault in faults { try await setup.cluster.fault(#"{"namespace":"\#(namespace)","# + fault.dropFirst()) }
        let jobs = workspace.mixedJobs()
        try workspace.write("all.yaml", setup.profile() + jobs.manifests)
        let result = try await setup.apply()
        #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
        try await workspace.expectEnded(jobs.expected)
        let requests = try await setup.requests()
        let injected = requests.filter { [500, 503, 429].contains($0["status"] as? Int ?? 0) }.count
        #expect(injected == 13, "every status fault was met: \(injected)")
        let left = await setup.leftoversAfterCleanup()
        #expect(left.isEmpty, "nothing is left: \(left)")
    }
}
