import MicroCore

/// The HTTP transport's limits a program sets in code, for the `http` engines made from an `EngineContext`.
public enum HTTPTransportOptions: ExtensionKey {
    /// The configuration both sides of the transport and the broker use.
    public typealias Value = HTTPTransportConfiguration
}

extension EnginePlugin {
    /// The `http` transport (go-micro's mucp over HTTP/1.1 and h2c) and the `http` broker (subscribers
    /// registered in the registry with the service's TTL and interval, `MICRO_BROKER_ADDRESS` to bind).
    /// TLS comes from `MicroTLS` (its `.tls` plugin reads `MICRO_TLS_*`); without it, TLS settings are
    /// refused rather than ignored.
    public static let http = EnginePlugin("http") { engines in
        engines.add(ClientTransportFactory("http") { context in
            HTTPClientTransport(configuration: try HTTPTransportOptions.configuration(context))
        })
        engines.add(ServerTransportFactory("http") { context in
            HTTPServerTransport(configuration: try HTTPTransportOptions.configuration(context))
        })
        engines.add(BrokerFactory("http") { context in
            let timing = try RegistrationTiming(environment: context.environment)
            return HTTPBroker(registry: try context.requireRegistry(for: "http broker"), address: context.address ?? "127.0.0.1:0",
                              configuration: try HTTPTransportOptions.configuration(context),
                              registerTTL: timing.ttl, registerInterval: timing.interval)
        })
    }
}

extension HTTPTransportOptions {
    /// The configuration set in code (or the defaults); a ``MicroCore/ConfigurationError`` when the
    /// environment asks for TLS and nothing provides it, so a service never serves plaintext by mistake.
    static func configuration(_ context: EngineContext) throws -> HTTPTransportConfiguration {
        let configuration = context.options[HTTPTransportOptions.self] ?? HTTPTransportConfiguration()
        if configuration.security == nil, context.environment.wantsTLS {
            throw ConfigurationError("MICRO_ENABLE_TLS or MICRO_TLS_* is set but this program has no TLS for the http engines: "
                                     + "depend on MicroTLS and pass its plugin (plugins: [.tls])")
        }
        return configuration
    }
}
