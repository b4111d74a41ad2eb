import MicroCore
import MicroHTTP

extension EnginePlugin {
    /// TLS from `MICRO_ENABLE_TLS` and `MICRO_TLS_*` for the `http` transport and broker: they serve
    /// over TLS (mutual with `MICRO_TLS_CLIENT_CA_FILE`) and call over TLS. Add it after the engines
    /// it secures (``MicroService`` and `Client` add plugins after their embedded engines); TLS set in
    /// code (``MicroHTTP/HTTPTransportConfiguration/security``) wins.
    public static let tls = EnginePlugin("tls") { engines in
        let settings: @Sendable (EngineContext, Bool) throws -> EngineContext = { context, serving in
            var context = context
            var configuration = context.options[HTTPTransportOptions.self] ?? HTTPTransportConfiguration()
            if configuration.security == nil, context.environment.wantsTLS {
                configuration.security = try HTTPTransportSecurity(settings: TLSSettings(environment: context.environment), serving: serving)
                context.options[HTTPTransportOptions.self] = configuration
            }
            return context
        }
        if let http = engines.clientTransports["http"] {
            engines.add(ClientTransportFactory("http") { context in try http.make(settings(context, false)) })
        }
        if let http = engines.serverTransports["http"] {
            engines.add(ServerTransportFactory("http") { context in try http.make(settings(context, true)) })
        }
        if let http = engines.brokers["http"] {
            engines.add(BrokerFactory("http") { context in try http.make(settings(context, true)) })
        }
    }
}
