import MicroCore

/// The HTTP transport's limits a program sets in code, for the `http` engines made from an `EngineContext`.
public enum HTTPTransportOptions: ExtensionKey {
    /// The configuration both sides of the transport and the broker use.
    public typealias Value = HTTPTransportConfiguration
}

extension EnginePlugin {
    /// The `http` transport (go-micro's mucp over HTTP/1.1 and h2c) and the `http` broker (subscribers
    /// registered in the registry with the service's TTL and interval, `MICRO_BROKER_ADDRESS` to bind).
    public static let http = EnginePlugin("http") { engines in
        engines.add(ClientTransportFactory("http") { context in
            HTTPClientTransport(configuration: context.options[HTTPTransportOptions.self] ?? HTTPTransportConfiguration())
        })
        engines.add(ServerTransportFactory("http") { context in
            HTTPServerTransport(configuration: context.options[HTTPTransportOptions.self] ?? HTTPTransportConfiguration())
        })
        engines.add(BrokerFactory("http") { context in
            let timing = try RegistrationTiming(environment: context.environment)
            return HTTPBroker(registry: try context.requireRegistry(for: "http broker"), address: context.address ?? "127.0.0.1:0",
                              configuration: context.options[HTTPTransportOptions.self] ?? HTTPTransportConfiguration(),
                              registerTTL: timing.ttl, registerInterval: timing.interval)
        })
    }
}
