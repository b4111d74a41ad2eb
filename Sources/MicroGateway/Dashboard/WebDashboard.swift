import Hummingbird
import Logging
import MicroCore
import ServiceLifecycle

/// `micro web`: a dashboard of the fleet in a browser — services, versions, nodes and their health,
/// endpoints with their shapes and a form to call each, kept live from a registry watch. A
/// swift-service-lifecycle `Service` calling through the ``Client`` it is given.
public struct WebDashboard: Service {
    let client: Client
    let configuration: GatewayConfiguration
    let logger: Logger
    let onRunning: @Sendable (String) async -> Void

    /// A dashboard on `configuration`'s address (its CORS policy is not used: the dashboard serves its own pages only).
    public init(client: Client, configuration: GatewayConfiguration = GatewayConfiguration(port: 8082), logger: Logger = Logger(label: "micro.web"),
                onRunning: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.onRunning = onRunning
    }

    /// Serves until cancelled or gracefully shut down.
    public func run() async throws {
        let feed = RegistryFeed(registry: client.selector.cache, logger: logger)
        let responder = DashboardResponder(caller: GatewayCaller(client: client, configuration: configuration), feed: feed,
                                           engines: .init(registry: client.selector.cache.name, broker: client.broker.name),
                                           probeTimeout: .seconds(1))
        let (configuration, logger, onRunning) = (self.configuration, self.logger, self.onRunning)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await feed.run() }
            group.addTask {
                try await HTTPApplication.run(responder: responder, host: configuration.host, port: configuration.port,
                                              readTimeout: configuration.requestReadTimeout, logger: logger, onRunning: onRunning)
            }
        }
    }
}
