import ArgumentParser
import Foundation
import Logging
import RunwayController
import RunwayLaunchers
import RunwayMetrics
import RunwayModel
import RunwayServer
import RunwayStore

/// Flags shared by the commands that run the controller (`apply`, later `controller`).
struct ControllerOptions: ParsableArguments {
    @Option(name: .long, help: "Names this installation on every platform (label runway.io/managed-by). Env: RUNWAY_CONTROLLER_ID.")
    var controllerID: String = Environment.string("RUNWAY_CONTROLLER_ID", default: "runway")

    @Option(name: .long, help: "Address of the runner API, HOST:PORT; port 0 picks a free one. Env: RUNWAY_LISTEN.")
    var listen: String = Environment.string("RUNWAY_LISTEN", default: "127.0.0.1:8080")

    @Option(name: .customLong("advertise-url"), help: "This controller's runner API URL, for tasks and for the replicas that send runners to the leader (default: from --listen). Env: RUNWAY_ADVERTISE_URL.")
    var advertiseURLFlag: String?
    /// `--advertise-url`, else $RUNWAY_ADVERTISE_URL.
    var advertiseURL: String? { advertiseURLFlag ?? Environment.optional("RUNWAY_ADVERTISE_URL") }

    @Option(
        name: .customLong("server-url"),
        help: "URL(s) tasks use to reach the runner API, comma-separated: with replicas, each replica's or a service in front of them (default: --advertise-url). Env: RUNWAY_SERVER_URLS.")
    var serverURLFlag: String?
    /// `--server-url`, else $RUNWAY_SERVER_URLS.
    var serverURL: String? { serverURLFlag ?? Environment.optional("RUNWAY_SERVER_URLS") }

    @Option(name: .customLong("image"), help: "Image of the tasks of profiles that name none: this controller's own image, which carries `runway runner`. Env: RUNWAY_IMAGE.")
    var imageFlag: String?
    /// `--image`, else $RUNWAY_IMAGE.
    var image: String? { imageFlag ?? Environment.optional("RUNWAY_IMAGE") }

    @Option(name: .long, help: "How often runners heartbeat. Env: RUNWAY_HEARTBEAT_INTERVAL.")
    var heartbeatInterval: ManifestDuration = Environment.duration("RUNWAY_HEARTBEAT_INTERVAL", default: .seconds(5))

    @Option(name: .long, help: "A running job whose runner is silent this long is stopped (heartbeat-lost). Env: RUNWAY_HEARTBEAT_TIMEOUT.")
    var heartbeatTimeout: ManifestDuration = Environment.duration("RUNWAY_HEARTBEAT_TIMEOUT", default: .seconds(30))

    @Option(
        name: .long,
        help: "Finished runs that ended longer ago than this are compacted (attempts, events and logs removed; the record and its result stay), whatever their job's historyLimit, also those of jobs no longer in the manifests. Env: RUNWAY_HISTORY_RETENTION.")
    var historyRetention: ManifestDuration = Environment.duration("RUNWAY_HISTORY_RETENTION", default: .seconds(30 * 86_400))

    @Option(
        name: .long,
        help: "How often every manifest file and every job record is read again, changed or not (between, only changed ones are). Env: RUNWAY_FULL_RELOAD.")
    var fullReload: ManifestDuration = Environment.duration("RUNWAY_FULL_RELOAD", default: .seconds(600))

    @Option(name: .long, help: "Starts and stops carried out at once. Env: RUNWAY_PARALLELISM.")
    var parallelism: Int = Environment.integer("RUNWAY_PARALLELISM", default: 8)

    @Option(
        name: .long,
        help: "Most output kept per attempt (like 100Mi or 1Gi): past it the output is cut with a marker line, the job goes on, and an output-capped event and runway_output_capped_total record it. Env: RUNWAY_MAX_OUTPUT.")
    var maxOutput: ByteSize = Environment.size("RUNWAY_MAX_OUTPUT", default: 100 << 20)

    @Option(name: .long, help: "Most connections the API serves at once; more wait until one closes. Env: RUNWAY_MAX_CONNECTIONS.")
    var maxConnections: Int = Environment.integer("RUNWAY_MAX_CONNECTIONS", default: 4096)

    @Option(name: .long, help: "A connection to the API with no request in flight this long is closed. Env: RUNWAY_IDLE_TIMEOUT.")
    var idleTimeout: ManifestDuration = Environment.duration("RUNWAY_IDLE_TIMEOUT", default: .seconds(60))

    @Option(name: .long, help: "Leader lease length: how long a dead controller keeps another from taking over. Env: RUNWAY_LEASE_DURATION.")
    var leaseDuration: ManifestDuration = Environment.duration("RUNWAY_LEASE_DURATION", default: .seconds(15))

    @Option(name: .long, help: "Log lines as text (for people) or json (one object per line). Env: RUNWAY_LOG_FORMAT.")
    var logFormat: String = Environment.string("RUNWAY_LOG_FORMAT", default: "text")

    @Option(
        name: .long,
        help: "Least important log lines shown: trace, debug, info, notice, warning, error (default: info for controller, warning for apply). Env: RUNWAY_LOG_LEVEL.")
    var logLevel: String = Environment.string("RUNWAY_LOG_LEVEL", default: "")

    /// Sets up logging from `--log-format` and `--log-level`; the command's own level when none is given.
    func bootstrapLogging(defaultLevel: Logger.Level) {
        Wiring.bootstrapLogging(
            LogFormat(rawValue: logFormat) ?? .text, level: Logger.Level(rawValue: logLevel) ?? defaultLevel)
    }

    @OptionGroup var storeOptions: StoreOptions

    /// The store `apply` and `controller` run on (see ``StoreOptions``).
    func openStore(stateDirectory: String, observer: CommitObserver?) async throws -> any StateStore {
        try await storeOptions.open(stateDirectory: stateDirectory, observer: observer)
    }

    @Option(
        name: .customLong("api-token-file"),
        help: "A file holding the bearer token the API requires (the read API, and /metrics with --metrics-require-token). Without it (or the token itself in RUNWAY_API_TOKEN), a loopback listener makes one in the state dir (api-token); any other listener refuses to start. Env: RUNWAY_API_TOKEN_FILE.")
    var apiTokenFileFlag: String?
    /// `--api-token-file`, else $RUNWAY_API_TOKEN_FILE.
    var apiTokenFile: String? { apiTokenFileFlag ?? Environment.optional("RUNWAY_API_TOKEN_FILE") }

    @Flag(
        name: .customLong("insecure-no-api-token"),
        help: "Serve the API without a token on any listener: anyone who can connect reads every job's output. Logs a warning at every start. Env: RUNWAY_INSECURE_NO_API_TOKEN=1.")
    var insecureNoAPITokenFlag = false
    var insecureNoAPIToken: Bool { insecureNoAPITokenFlag || Environment.optional("RUNWAY_INSECURE_NO_API_TOKEN") == "1" }

    @Flag(name: .customLong("metrics-require-token"), help: "/metrics requires the API token too (default: open, for Prometheus). Env: RUNWAY_METRICS_REQUIRE_TOKEN=1.")
    var metricsRequireTokenFlag = false
    var metricsRequireToken: Bool { metricsRequireTokenFlag || Environment.optional("RUNWAY_METRICS_REQUIRE_TOKEN") == "1" }

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve the runner API over TLS (with --tls-key). Env: RUNWAY_TLS_CERT.")
    var tlsCertFlag: String?
    /// `--tls-cert`, else $RUNWAY_TLS_CERT.
    var tlsCert: String? { tlsCertFlag ?? Environment.optional("RUNWAY_TLS_CERT") }

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert. Env: RUNWAY_TLS_KEY.")
    var tlsKeyFlag: String?
    /// `--tls-key`, else $RUNWAY_TLS_KEY.
    var tlsKey: String? { tlsKeyFlag ?? Environment.optional("RUNWAY_TLS_KEY") }

    @Option(name: .customLong("tls-ca"), help: "PEM CA certificate tasks trust the runner API by (given to them as RUNWAY_SERVER_CA). Env: RUNWAY_TLS_CA.")
    var tlsCAFlag: String?
    /// `--tls-ca`, else $RUNWAY_TLS_CA.
    var tlsCA: String? { tlsCAFlag ?? Environment.optional("RUNWAY_TLS_CA") }

    /// The launchers' policy (`base`, where manifests may draw secrets from) with who may call
    /// the API: the token of `--api-token-file`; on a loopback listener without
    /// one, the state directory's (made once); with `--insecure-no-api-token`, nobody needs one
    /// (with a warning). Any other listener without a token is refused, saying how to fix it.
    /// The files holding this controller's own credentials: no manifest may read them.
    var credentialFiles: [String] { [apiTokenFile, tlsKey, storeOptions.storePasswordFile].compactMap { $0 } }

    func trustPolicy(base: TrustPolicy, stateDirectory: String, logger: Logger) throws -> TrustPolicy {
        let token: String?
        if let apiTokenFile {
            token = try APIToken.read(apiTokenFile, flag: "--api-token-file")
        } else if let given = Environment.optional("RUNWAY_API_TOKEN") {
            token = given  // from a platform's secret store (an ECS task definition's `secrets`)
        } else if insecureNoAPIToken {
            logger.warning(
                "serving the API without a token (--insecure-no-api-token): anyone who can connect to \(listen) reads every job and its output")
            token = nil
        } else if let host = listenAddress?.host, APIToken.isLoopback(host) {
            token = try APIToken.loadOrCreate(stateDirectory: stateDirectory)
        } else {
            throw failure(
                "--listen \(listen) is reachable from other machines, and the API would have no token: give --api-token-file FILE "
                    + "(or RUNWAY_API_TOKEN_FILE) holding one, listen on 127.0.0.1, or pass --insecure-no-api-token to serve without one",
                ExitStatus.unusable)
        }
        var policy = base
        policy.apiToken = token
        policy.metricsRequireToken = metricsRequireToken
        return policy
    }

    func validate() throws {
        guard !(insecureNoAPIToken && apiTokenFile != nil) else {
            throw ValidationError("--insecure-no-api-token and --api-token-file contradict each other")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard tlsCA == nil || tlsCert != nil else { throw ValidationError("--tls-ca needs --tls-cert and --tls-key") }
        guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json") }
        guard logLevel.isEmpty || Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard listenAddress != nil else { throw ValidationError("--listen must be HOST:PORT, got '\(listen)'") }
        for url in (serverURL ?? "").split(separator: ",") + (advertiseURL.map { [Substring($0)] } ?? []) {
            let url = url.trimmingCharacters(in: .whitespaces)
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ValidationError("--server-url and --advertise-url take http:// or https:// URLs, got '\(url)'")
            }
        }
        try Environment.checkValues()
        guard maxConnections >= 16 else { throw ValidationError("--max-connections must be at least 16") }
        guard parallelism >= 1 else { throw ValidationError("--parallelism must be at least 1") }
        guard historyRetention.value >= .seconds(60) else { throw ValidationError("--history-retention must be at least 1m") }
        guard fullReload.value >= .seconds(1) else { throw ValidationError("--full-reload must be at least 1s") }
        guard heartbeatTimeout.value > heartbeatInterval.value else {
            throw ValidationError("--heartbeat-timeout must be longer than --heartbeat-interval")
        }
    }

    /// The listener's certificate and key, when TLS is asked for; nil for plain HTTP.
    func serverTLS() throws -> APIServer.TLS? {
        guard let tlsCert, let tlsKey else { return nil }
        return APIServer.TLS(certificateFile: tlsCert, keyFile: tlsKey)
    }

    /// The CA tasks are told to trust (`--tls-ca`), read once as PEM text.
    func taskCA() throws -> String? {
        guard let tlsCA else { return nil }
        guard let data = FileManager.default.contents(atPath: tlsCA) else {
            throw failure("cannot read --tls-ca \(tlsCA)", ExitStatus.unusable)
        }
        let pem = String(decoding: data, as: UTF8.self)
        guard pem.contains("-----BEGIN CERTIFICATE-----") else {
            throw failure("--tls-ca \(tlsCA) holds no PEM certificate", ExitStatus.unusable)
        }
        return pem
    }

    /// The reconciler these flags describe, with its leader lease, for a server bound to `port`.
    func reconciler(
        port: Int, serverCA: String?, launchers: LauncherRegistry, store: any StateStore, holding: HoldingSet, metrics: RunwayMetrics, logger: Logger
    ) -> Reconciler {
        let host = listenAddress?.host ?? "127.0.0.1"
        let scheme = tlsCert == nil ? "http" : "https"
        let advertised = advertiseURL ?? "\(scheme)://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
        var configuration = ControllerConfiguration(serverURL: serverURL ?? advertised, advertiseURL: advertised)
        configuration.serverCA = serverCA
        configuration.controllerID = controllerID
        configuration.heartbeatInterval = heartbeatInterval.value
        configuration.heartbeatTimeout = heartbeatTimeout.value
        configuration.historyRetention = historyRetention.value
        configuration.fullReload = fullReload.value
        configuration.parallelism = parallelism
        configuration.image = image
        var leaseConfiguration = LeaderLease.Configuration()
        leaseConfiguration.duration = leaseDuration.value
        let lease = LeaderLease(
            configuration: leaseConfiguration, controllerID: controllerID, store: store, logger: logger,
            onTermChange: { holding.tokensMayBeStale() })
        return Reconciler(
            configuration: configuration, launchers: launchers, store: store,
            holding: holding, lease: lease, metrics: metrics, logger: logger)
    }

    var listenAddress: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        let host = String(listen[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}

/// A size flag written like the manifests' memory sizes (`100Mi`, `1Gi`, `500M`, bytes).
struct ByteSize: ExpressibleByArgument, CustomStringConvertible {
    var bytes: Int

    init(_ bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        guard let bytes = ByteCount.parse(argument), bytes < Int64(Int.max) else { return nil }
        self.bytes = Int(bytes)
    }

    var description: String { ByteCount.describe(bytes) }
    var defaultValueDescription: String { ByteCount.describe(bytes) }
}

/// A duration flag written like the manifests' durations (`90s`, `2m`, `1h30m`).
struct ManifestDuration: ExpressibleByArgument, CustomStringConvertible {
    var value: Duration

    init(_ value: Duration) { self.value = value }

    init?(argument: String) {
        guard let value = try? Duration.parseManifest(argument), value > .zero else { return nil }
        self.value = value
    }

    var description: String { value.manifestDescription }
    var defaultValueDescription: String { value.manifestDescription }
}
