import Configuration
import Foundation
import Logging
import Metrics
import MicroCore
import ServiceLifecycle
import SystemPackage

/// A service's configuration in the declared order — command-line arguments, then the environment,
/// then `MICRO_CONFIG_FILE` (JSON or YAML, reloaded every `MICRO_CONFIG_POLL` seconds), then the
/// shared source `MICRO_CONFIG` names (etcd, NATS, Consul), then defaults in code — read through one
/// swift-configuration ``reader``. Run it (a lifecycle `Service`) so the file and the source are
/// watched; each keeps its last good snapshot when it goes bad or away.
public struct ServiceConfig: Service {
    /// Reads every provider in order.
    public let reader: ConfigReader
    /// The provider over the shared source, nil when `MICRO_CONFIG` names none.
    public let sourceProvider: ConfigSourceProvider?
    private let services: [any Service]

    /// Providers in order (first wins) and the services that keep them fresh.
    public init(providers: [any ConfigProvider], services: [any Service] = [], sourceProvider: ConfigSourceProvider? = nil) {
        self.reader = ConfigReader(providers: providers)
        self.services = services
        self.sourceProvider = sourceProvider
    }

    /// The standard order for a service. `defaults` are the values in code (they apply when no
    /// other provider has a key); `engines` must hold the source `MICRO_CONFIG` names (the engine
    /// module's plugin). Throws when `MICRO_CONFIG_FILE` names a file that cannot be read at start,
    /// `MICRO_CONFIG_POLL` is not a positive number of seconds, or `MICRO_CONFIG` names an unknown
    /// source. A source that does not answer is no error: see ``ConfigSourceProvider``.
    public static func standard(
        arguments: [String] = CommandLine.arguments,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        defaults: [AbsoluteConfigKey: ConfigValue] = [:],
        engines: Engines = Engines([.inProcess]),
        logger: Logger = Logger(label: "micro.config"),
        metrics: any MetricsFactory = MetricsSystem.factory
    ) async throws -> ServiceConfig {
        let micro = MicroEnvironment(environment)
        var providers: [any ConfigProvider] = [
            CommandLineArgumentsProvider(arguments: arguments),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ]
        var services: [any Service] = []
        if let file = micro["MICRO_CONFIG_FILE"] {
            var poll = Duration.seconds(15)
            if let text = micro["MICRO_CONFIG_POLL"] {
                guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= 86_400 else {
                    throw ConfigurationError("MICRO_CONFIG_POLL must be a positive number of seconds, got '\(text)'")
                }
                poll = .milliseconds(Int64(max(1, (seconds * 1000).rounded())))
            }
            let lowered = file.lowercased()
            if lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml") {
                let provider = try await ReloadingFileProvider<YAMLSnapshot>(filePath: FilePath(file), pollInterval: poll, logger: logger)
                providers.append(provider)
                services.append(provider)
            } else {
                let provider = try await ReloadingFileProvider<JSONSnapshot>(filePath: FilePath(file), pollInterval: poll, logger: logger)
                providers.append(provider)
                services.append(provider)
            }
        }
        var sourceProvider: ConfigSourceProvider?
        if let source = try engines.makeConfigSource(EngineContext(environment: micro, logger: logger)) {
            let provider = await ConfigSourceProvider(source: source, home: micro.home, logger: logger, metrics: metrics)
            providers.append(provider)
            services.append(source)
            services.append(provider)
            sourceProvider = provider
        }
        providers.append(InMemoryProvider(name: "defaults", values: defaults))
        return ServiceConfig(providers: providers, services: services, sourceProvider: sourceProvider)
    }

    /// Runs the file and source watchers (and the source engine) until graceful shutdown.
    public func run() async throws {
        guard !services.isEmpty else {
            // Nothing to watch: still a service that lasts until shutdown, like the ones it would run.
            try? await gracefulShutdown()
            return
        }
        try await withThrowingDiscardingTaskGroup { group in
            for service in services {
                group.addTask { try await service.run() }
            }
        }
    }
}
