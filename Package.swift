// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-micro",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MicroAddress", targets: ["MicroAddress"]),
        .library(name: "MicroCore", targets: ["MicroCore"]),
        .library(name: "MicroHTTP", targets: ["MicroHTTP"]),
        .library(name: "MicroTLS", targets: ["MicroTLS"]),
        .library(name: "NATSClient", targets: ["NATSClient"]),
        .library(name: "MicroNATS", targets: ["MicroNATS"]),
        .library(name: "MicroGRPC", targets: ["MicroGRPC"]),
        .library(name: "EtcdClient", targets: ["EtcdClient"]),
        .library(name: "MicroEtcd", targets: ["MicroEtcd"]),
        .library(name: "MicroMDNS", targets: ["MicroMDNS"]),
        .library(name: "MicroGossip", targets: ["MicroGossip"]),
        .library(name: "ConsulClient", targets: ["ConsulClient"]),
        .library(name: "MicroConsul", targets: ["MicroConsul"]),
        .library(name: "MicroSQLite", targets: ["MicroSQLite"]),
        .library(name: "MicroPostgres", targets: ["MicroPostgres"]),
        .library(name: "MicroConfig", targets: ["MicroConfig"]),
        .library(name: "MicroAuth", targets: ["MicroAuth"]),
        .library(name: "MicroPrometheus", targets: ["MicroPrometheus"]),
        .library(name: "MicroOTel", targets: ["MicroOTel"]),
        .library(name: "Micro", targets: ["Micro"]),
        .library(name: "MicroGateway", targets: ["MicroGateway"]),
        .library(name: "MicroRuntime", targets: ["MicroRuntime"]),
        .library(name: "MicroKubernetes", targets: ["MicroKubernetes"]),
        .executable(name: "micro", targets: ["MicroCLI"]),
        .executable(name: "greeter", targets: ["Greeter"]),
        .executable(name: "micro-bench", targets: ["MicroBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // OTLP over gRPC only: grpc-swift-2 is built already; the OTLP/HTTP trait would add async-http-client.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPGRPC"]),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"6.0.0"),
        .package(
            url: "https://github.com/apple/swift-configuration.git", from: "1.4.0",
            traits: [.defaults, "YAML", "Reloading", "CommandLineArguments"]
        ),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // X509 (already in the graph through grpc-swift-nio-transport): the identity of a verified client certificate.
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.14.0"),
        // micro.yaml, the runtime's manifest (already resolved for swift-configuration's YAML trait).
        .package(url: "https://github.com/jpsim/Yams.git", "5.0.0"..<"7.0.0"),
        // The Kubernetes runtime's HTTP client (already built for hummingbird's testing library).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // `host:port` addresses, parsed one way for every engine; depends on nothing.
        .target(name: "MicroAddress", swiftSettings: strict),
        .target(
            name: "MicroCore",
            dependencies: [
                "CZlib",
                "MicroAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MicroHTTP",
            dependencies: [
                "MicroCore",
                "MicroAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // TLS on swift-nio-ssl for the HTTP transport and broker, TLS settings (MICRO_TLS_*) for every engine,
        // and the identity of a verified client certificate: only what links it builds BoringSSL.
        .target(
            name: "MicroTLS",
            dependencies: [
                "MicroCore",
                "MicroHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strict
        ),
        // A NATS client on SwiftNIO, usable without the rest of Swift Micro.
        .target(
            name: "NATSClient",
            dependencies: [
                "MicroAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MicroNATS",
            dependencies: [
                "MicroCore",
                "MicroAddress",
                "NATSClient",
                "MicroTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MicroGRPC",
            dependencies: [
                "MicroCore",
                "MicroAddress",
                "MicroTLS",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // An etcd v3 client over gRPC (with etcd's generated protobuf and gRPC code), usable on its own.
        .target(
            name: "EtcdClient",
            dependencies: [
                "MicroAddress",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MicroEtcd",
            dependencies: [
                "MicroCore",
                "EtcdClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MicroMDNS",
            dependencies: [
                "MicroCore",
                "MicroAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MicroGossip",
            dependencies: [
                "MicroCore",
                "MicroAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // A client of the Consul agent HTTP API on SwiftNIO, usable on its own.
        .target(
            name: "ConsulClient",
            dependencies: [
                "MicroAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MicroConsul",
            dependencies: [
                "MicroCore",
                "ConsulClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The embedded store on SQLite (sqlite-nio compiles SQLite itself): only what links it builds it.
        .target(
            name: "MicroSQLite",
            dependencies: [
                "MicroCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The store on PostgreSQL (postgres-nio's pooled client): only what links it builds postgres-nio.
        .target(
            name: "MicroPostgres",
            dependencies: [
                "MicroCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Configuration on swift-configuration: providers over MicroCore's config sources, Codable sections, live reload.
        .target(
            name: "MicroConfig",
            dependencies: [
                "MicroCore",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // JWT auth on jwt-kit (EdDSA tokens, JWKS) and swift-crypto (scrypt, SHA-256): only what links it builds them.
        .target(
            name: "MicroAuth",
            dependencies: [
                "MicroCore",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The Prometheus exporter (swift-prometheus): `/metrics` on a service's HTTP port. Opt-in: only what links it builds it.
        .target(
            name: "MicroPrometheus",
            dependencies: [
                "MicroCore",
                "MicroHTTP",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The OpenTelemetry exporter (swift-otel, OTLP/gRPC): traces and metrics to a collector. Opt-in.
        .target(
            name: "MicroOTel",
            dependencies: [
                "MicroCore",
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Micro",
            dependencies: [
                "MicroCore",
                "MicroHTTP",
                "MicroSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                // The store service's messages (Protos/Micro, generated into Generated/).
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        // The HTTP gateway (`micro api`) and the web dashboard (`micro web`) on Hummingbird: only what links it builds Hummingbird.
        .target(
            name: "MicroGateway",
            dependencies: [
                "MicroCore",
                // Only for its event-loop task executor: each connection is served on its own event loop.
                "MicroHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                // WebSocket streams (`GET /service/method` with `Upgrade: websocket`).
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The runtime (`micro run`): git sources, swift builds, supervised processes, micro.yaml dependency DAGs.
        .target(
            name: "MicroRuntime",
            dependencies: [
                "MicroCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The Kubernetes runtime: Deployments and Services through the Kubernetes REST API (the runtime service's cluster).
        .target(
            name: "MicroKubernetes",
            dependencies: [
                "MicroCore",
                "MicroRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "MicroCLI",
            dependencies: [
                "Micro",
                "MicroTLS",
                "MicroAuth",
                "MicroAddress",
                "MicroGateway",
                "MicroRuntime",
                // `micro runtime` runs `kubernetes` services through it (AsyncHTTPClient); the greeter does not link it.
                "MicroKubernetes",
                "MicroNATS",
                "MicroEtcd",
                "MicroGRPC",
                "MicroConsul",
                "MicroGossip",
                "MicroMDNS",
                "MicroPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Greeter",
            dependencies: [
                // The engines the example is run with (README, tests): gRPC is its API; NATS, mDNS, gossip;
                // etcd for its live configuration (MicroConfig, on swift-configuration).
                "Micro",
                "MicroAuth",
                "MicroConfig",
                "MicroTLS",
                "MicroEtcd",
                "MicroGRPC",
                "MicroNATS",
                "MicroGossip",
                "MicroMDNS",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Examples/Greeter",
            exclude: ["Protos"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "MicroBench",
            dependencies: [
                "Micro",
                "MicroAddress",
                // Its event-loop task executor: client calls from tasks on the event loops.
                "MicroHTTP",
                "MicroNATS",
                "NATSClient",
                "MicroGRPC",
                "MicroEtcd",
                "MicroGossip",
                "MicroMDNS",
                "MicroConsul",
                "MicroSQLite",
                "MicroPostgres",
                "MicroConfig",
                "MicroPrometheus",
                "MicroAuth",
                "EtcdClient",
                "MicroTestSupport",
                "MicroGateway",
                // The Hummingbird floor `micro-bench api` measures the gateway against.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/MicroBench",
            swiftSettings: strict
        ),
        .testTarget(name: "MicroAddressTests", dependencies: ["MicroAddress"], swiftSettings: strict),
        // Test-only: the store contract, run by every store backend's tests with a factory.
        .target(name: "StoreConformance", dependencies: ["MicroCore"], path: "Tests/StoreConformance", swiftSettings: strict),
        // Test-only: the sync (locks, leaders) contract, run by every sync engine's tests with a factory.
        .target(name: "SyncConformance", dependencies: ["MicroCore", "MicroTestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
                path: "Tests/SyncConformance", swiftSettings: strict),
        // Test-only: the event stream and event store contract, run by every events backend's tests with factories.
        .target(name: "EventsConformance", dependencies: ["MicroCore"], path: "Tests/EventsConformance", swiftSettings: strict),
        .testTarget(name: "MicroCoreTests", dependencies: ["MicroCore", "MicroTestSupport", "StoreConformance", "EventsConformance", "SyncConformance", .product(name: "MetricsTestKit", package: "swift-metrics"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "InMemoryTracing", package: "swift-distributed-tracing")], swiftSettings: strict),
        .testTarget(name: "MicroTLSTests", dependencies: [
            "MicroTLS", "MicroCore", "Micro", "MicroTestSupport",
            .product(name: "X509", package: "swift-certificates"), .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        .testTarget(name: "MicroHTTPTests", dependencies: [
            "MicroHTTP", "MicroTLS", "MicroCore", "MicroAddress", "MicroTestSupport",
            .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
        ], swiftSettings: strict),
        // Test-only: starts real engines (nats-server) for the engine and integration tests.
        .target(
            name: "MicroTestSupport",
            dependencies: [
                "MicroAddress",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/MicroTestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "MicroSQLiteTests", dependencies: [
            "MicroSQLite", "MicroCore", "StoreConformance", "SyncConformance", "MicroTestSupport", .product(name: "SQLiteNIO", package: "sqlite-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "MicroPostgresTests", dependencies: [
            "MicroPostgres", "MicroCore", "StoreConformance", "EventsConformance", "SyncConformance", "MicroTestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // Test-only: writes records to a SQLite store and prints each acknowledged key (the kill -9 test's child).
        .executableTarget(name: "StoreWriter", dependencies: ["MicroSQLite", "MicroCore"], path: "Tests/StoreWriter", swiftSettings: strict),
        // Test-only: one process of the multi-process lock and leader fault tests (SyncFaultHarness).
        .executableTarget(name: "SyncContender", dependencies: ["MicroCore", "MicroSQLite", "MicroPostgres", "MicroEtcd"], path: "Tests/SyncContender", swiftSettings: strict),
        // Test-only: consumes a topic from a NATS event stream without acknowledging (the kill -9 test's child).
        .executableTarget(name: "EventConsumer", dependencies: ["MicroNATS", "NATSClient", "MicroCore"], path: "Tests/EventConsumer", swiftSettings: strict),
        .testTarget(name: "MicroNATSTests", dependencies: ["MicroNATS", "NATSClient", "MicroCore", "StoreConformance", "EventsConformance", "SyncConformance", "MicroTestSupport", .product(name: "NIOSSL", package: "swift-nio-ssl")], exclude: ["python"], swiftSettings: strict),
        .testTarget(name: "MicroGRPCTests", dependencies: ["MicroGRPC", "MicroCore", "MicroTestSupport", .product(name: "GRPCCore", package: "grpc-swift-2"), .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"), .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"), .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "X509", package: "swift-certificates"), .product(name: "Crypto", package: "swift-crypto"), .product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOHPACK", package: "swift-nio-http2"), .product(name: "Logging", package: "swift-log")], exclude: ["python"], swiftSettings: strict),
        .testTarget(name: "MicroEtcdTests", dependencies: ["MicroEtcd", "EtcdClient", "MicroCore", "StoreConformance", "SyncConformance", "MicroTestSupport", .product(name: "GRPCCore", package: "grpc-swift-2"), .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "MicroMDNSTests", dependencies: ["MicroMDNS", "MicroCore", "MicroTestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")], exclude: ["python"], swiftSettings: strict),
        .testTarget(name: "MicroGossipTests", dependencies: ["MicroGossip", "MicroAddress", "MicroCore", "MicroTestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")], swiftSettings: strict),
        .testTarget(name: "MicroConfigTests", dependencies: [
            "MicroConfig", "MicroCore", "MicroTestSupport", "MicroEtcd", "EtcdClient", "MicroNATS", "NATSClient", "MicroConsul", "ConsulClient",
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "MetricsTestKit", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"),
            .product(name: "InMemoryLogging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        .testTarget(name: "MicroConsulTests", dependencies: ["MicroConsul", "ConsulClient", "MicroCore", "MicroTestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")], swiftSettings: strict),
        .testTarget(name: "MicroGatewayTests", dependencies: [
            "MicroGateway", "Micro", "MicroCore", "MicroHTTP", "MicroTestSupport",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "InMemoryLogging", package: "swift-log"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            // A span of the test's own (with markup in its name) inside a traced handler.
            .product(name: "Tracing", package: "swift-distributed-tracing"),
        ], swiftSettings: strict),
        // Test-only: runtimes run and served by the runtime and Kubernetes tests.
        .target(name: "RuntimeTestSupport", dependencies: ["MicroRuntime", "Micro", "MicroCore"], path: "Tests/RuntimeTestSupport", swiftSettings: strict),
        .testTarget(name: "MicroRuntimeTests", dependencies: [
            "MicroRuntime", "Micro", "MicroCore", "MicroTestSupport", "RuntimeTestSupport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .testTarget(name: "MicroKubernetesTests", dependencies: [
            "MicroKubernetes", "MicroRuntime", "Micro", "MicroCore", "MicroTestSupport", "RuntimeTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "MicroAuthTests", dependencies: [
            "MicroAuth", "MicroCore", "Micro", "MicroSQLite", "MicroPostgres", "MicroHTTP", "MicroGRPC", "MicroNATS", "MicroTestSupport",
            .product(name: "JWTKit", package: "jwt-kit"), .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "GRPCCore", package: "grpc-swift-2"), .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        ], swiftSettings: strict),
        .testTarget(name: "MicroPrometheusTests", dependencies: [
            "MicroPrometheus", "Micro", "MicroHTTP", "MicroCore", "MicroTestSupport", .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: strict),
        .testTarget(name: "MicroOTelTests", dependencies: [
            "MicroOTel", "Micro", "MicroHTTP", "MicroCore", "MicroTestSupport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], exclude: ["python"], swiftSettings: strict),
        .testTarget(
            name: "MicroTests",
            dependencies: [
                "Micro",
                "MicroEtcd",
                "MicroNATS",
                "MicroMDNS",
                "MicroGossip",
                "MicroConsul",
                "MicroGRPC",
                "MicroPostgres",
                "MicroTestSupport",
                "StoreConformance",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            exclude: ["browser"],
            swiftSettings: strict
        ),
    ]
)
