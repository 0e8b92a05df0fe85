// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "runway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "runway", targets: ["runway"]),
        .executable(name: "runway-runner", targets: ["runway-runner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // System libraries: libyaml (manifests) and libcurl (the HTTP client of every launcher).
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // The few libc calls Swift's Glibc module hides (posix_spawn chdir and closefrom).
        .target(name: "CRunwaySystem"),

        // posix_spawn and waitpid for every child process Runway starts.
        .target(name: "RunwayProcess", dependencies: ["CRunwaySystem"], swiftSettings: strict),

        // Every metric Runway reports, through swift-metrics.
        .target(
            name: "RunwayMetrics", dependencies: [.product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strict),

        // Value types only: no I/O.
        .target(
            name: "RunwayModel",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                // The desired state's jobs: a persistent map, so a change of a few jobs among
                // 100,000 copies a few nodes, not the whole table (several owners share it).
                .product(name: "HashTreeCollections", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        // Directory walk, parsing into a source-located node tree, decoding and validation.
        .target(name: "RunwayManifests", dependencies: ["RunwayModel", "CYAML"], swiftSettings: strict),
        // The pure diff: desired + observed + records + now -> Plan.
        .target(name: "RunwayPlanner", dependencies: ["RunwayModel"], swiftSettings: strict),

        // The libcurl HTTP client every launcher uses.
        .target(name: "RunwayHTTP", dependencies: ["CCurl", "RunwayWire"], swiftSettings: strict),
        // The runner's own small HTTP/1.1 client (TLS through the system's OpenSSL), so a runner
        // loads none of libcurl's libraries; and the TLS options both clients take.
        .target(name: "CRunwayTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "RunwayWire", dependencies: ["CRunwayTLS"], swiftSettings: strict),
        // AWS: SigV4 signing and the credentials chain (for the ECS launcher).
        .target(
            name: "RunwayAWS",
            dependencies: ["RunwayHTTP", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // Job records, attempts, events, the log index; SQLite through GRDB.
        .target(
            name: "RunwayStore",
            dependencies: [
                "RunwayModel", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The TaskLauncher protocol, its registry, and one launcher per platform.
        .target(
            name: "RunwayLaunchers",
            dependencies: [
                "RunwayModel", "RunwayManifests", "RunwayProcess", "RunwayHTTP", "RunwayAWS",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The runner API (HTTP), holding set, log intake, health endpoints.
        .target(
            name: "RunwayServer",
            dependencies: [
                "RunwayModel", "RunwayStore", "RunwayPlanner", "RunwayMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // observe -> plan -> execute passes, deadlines, retries.
        .target(
            name: "RunwayController",
            dependencies: [
                "CRunwaySystem", "RunwayModel", "RunwayManifests", "RunwayPlanner", "RunwayLaunchers", "RunwayStore", "RunwayMetrics",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The runner agent: claim, run, stream logs, heartbeat, report.
        .target(
            name: "RunwayRunner",
            dependencies: ["RunwayModel", "RunwayWire", "RunwayProcess", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),

        .executableTarget(
            name: "runway",
            dependencies: [
                "RunwayModel", "RunwayManifests", "RunwayPlanner", "RunwayStore", "RunwayLaunchers",
                "RunwayServer", "RunwayController", "RunwayRunner", "RunwayMetrics", "RunwayHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // The runner agent alone (`runway-runner`): what a task runs, with nothing of the controller.
        .executableTarget(name: "runway-runner", dependencies: ["RunwayRunner", "RunwayModel"], swiftSettings: strict),
        .executableTarget(
            name: "runway-bench",
            dependencies: [
                "RunwayModel", "RunwayManifests", "RunwayPlanner", "RunwayStore", "RunwayProcess", "RunwayController", "CYAML",
                "RunwayLaunchers", "RunwayTestSupport", "CRunwaySystem", .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Benchmarks/runway-bench",
            swiftSettings: strict
        ),

        // Fuzz targets (scripts/fuzz builds them with libFuzzer) and their shared bodies.
        .target(
            name: "RunwayFuzzing",
            dependencies: [
                "RunwayManifests", "RunwayServer", "RunwayStore", "RunwayModel", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/RunwayFuzzing", swiftSettings: strict),
        .executableTarget(name: "fuzz-yaml", dependencies: ["RunwayFuzzing"], path: "Fuzz/fuzz-yaml", swiftSettings: strict),
        .executableTarget(name: "fuzz-hcl", dependencies: ["RunwayFuzzing"], path: "Fuzz/fuzz-hcl", swiftSettings: strict),
        .executableTarget(name: "fuzz-runner-api", dependencies: ["RunwayFuzzing"], path: "Fuzz/fuzz-runner-api", swiftSettings: strict),

        // Golden files, repository paths and scratch directories for the test targets.
        .target(
            name: "RunwayTestSupport",
            dependencies: [
                "RunwayProcess", "RunwayAWS", "RunwayHTTP", "RunwayModel", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"), .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/RunwayTestSupport", swiftSettings: strict),
        .testTarget(name: "RunwayModelTests", dependencies: ["RunwayModel"], swiftSettings: strict),
        .testTarget(
            name: "RunwayManifestsTests",
            dependencies: ["RunwayManifests", "RunwayModel", "RunwayTestSupport", "RunwayLaunchers"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunwayPlannerTests",
            dependencies: ["RunwayPlanner", "RunwayModel", "RunwayTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunwayStoreTests",
            dependencies: ["RunwayStore", "RunwayModel", "RunwayTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
        .testTarget(
            name: "RunwayHTTPTests",
            dependencies: [
                "RunwayHTTP", "RunwayTestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"), .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunwayLaunchersTests",
            dependencies: [
                "RunwayLaunchers", "RunwayManifests", "RunwayModel", "RunwayAWS", "RunwayHTTP", "RunwayTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "RunwayAWSTests",
            dependencies: ["RunwayAWS", "RunwayHTTP", "RunwayTestSupport", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: strict),
        .testTarget(name: "SystemLibraryTests", dependencies: ["CYAML", "CCurl"], swiftSettings: strict),
        .testTarget(name: "RunwayCLITests", dependencies: ["runway", "RunwayTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "RunwayIntegrationTests",
            dependencies: [
                "runway", "RunwayTestSupport", "RunwayModel", "RunwayStore", "RunwayServer", "RunwayHTTP",
                "RunwayLaunchers", "RunwayManifests", "RunwayRunner", "RunwayController", "RunwayFuzzing",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
    ]
)
