import Hummingbird
import Logging
import MicroCore
import NIOCore
import ServiceLifecycle

/// `micro api`: every service reachable over plain HTTP with JSON, as go-micro's API gateway maps
/// paths to endpoints. A swift-service-lifecycle `Service`; it calls through the ``Client`` it is given
/// (registry lookup, selector, any transport) and leaves that client to its owner.
public struct APIGateway: Service {
    let client: Client
    let configuration: GatewayConfiguration
    let logger: Logger
    let onRunning: @Sendable (String) async -> Void

    /// A gateway calling through `client`; `onRunning` learns the `host:port` it listens on.
    public init(client: Client, configuration: GatewayConfiguration = GatewayConfiguration(), logger: Logger = Logger(label: "micro.api"),
                onRunning: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.onRunning = onRunning
    }

    /// Serves until cancelled or gracefully shut down.
    public func run() async throws {
        let caller = GatewayCaller(client: client, configuration: configuration)
        try await HTTPApplication.run(responder: APIResponder(caller: caller), host: configuration.host, port: configuration.port,
                                      readTimeout: configuration.requestReadTimeout, logger: logger,
                                      webSocket: WebSocketStreamBridge(caller: caller), onRunning: onRunning)
    }
}
