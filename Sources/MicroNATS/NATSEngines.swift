import Foundation
import MicroCore
import MicroTLS

extension EnginePlugin {
    /// NATS as `nats` registry, broker, transport, store (JetStream key-value, ``NATSStore``), event
    /// stream (``NATSEventStream``) and event store (``NATSEventStore``) on JetStream, and config source
    /// (``NATSConfigSource``, JetStream key-value); each
    /// role's address is a comma-separated list of server URLs (default `nats://127.0.0.1:4222`). Over TLS
    /// (a `tls://` URL, or a server that requires it) every role uses the `MICRO_TLS_*` settings: the CA
    /// to trust, the client certificate to present, the server name to check.
    public static let nats = EnginePlugin("nats") { engines in
        engines.add(RegistryFactory("nats") { context in NATSRegistry(options: try NATSOptions.servers(context)) })
        engines.add(BrokerFactory("nats") { context in NATSBroker(options: try NATSOptions.servers(context)) })
        engines.add(ClientTransportFactory("nats") { context in NATSClientTransport(options: try NATSOptions.servers(context)) })
        engines.add(ServerTransportFactory("nats") { context in NATSServerTransport(options: try NATSOptions.servers(context)) })
        engines.add(StoreFactory("nats") { context in NATSStore(options: try NATSOptions.servers(context), logger: context.logger) })
        engines.add(ConfigSourceFactory("nats") { context in
            try NATSConfigSource(options: NATSOptions.servers(context), bucket: context.environment["MICRO_CONFIG_BUCKET"] ?? "default",
                                 key: context.environment["MICRO_CONFIG_KEY"] ?? "micro_config", logger: context.logger)
        })
        engines.add(EventStreamFactory("nats") { context in
            NATSEventStream(options: try NATSOptions.servers(context),
                            configuration: try NATSEventsConfiguration().duplicateWindow(from: context.environment, variable: "MICRO_EVENTS_DUPLICATE_WINDOW"),
                            logger: context.logger)
        })
        engines.add(EventStoreFactory("nats") { context in
            try NATSEventStore(options: NATSOptions.servers(context),
                               configuration: try NATSEventsConfiguration.store.duplicateWindow(from: context.environment,
                                                                                                variable: "MICRO_EVENT_STORE_DUPLICATE_WINDOW"),
                               logger: context.logger)
        })
    }
}

extension NATSOptions {
    /// Options for a comma-separated list of server URLs (go-micro's address lists), named after the
    /// process; nil or empty means `nats://127.0.0.1:4222`.
    static func servers(_ addresses: String?) -> NATSOptions {
        let servers = (addresses ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var options = servers.isEmpty ? NATSOptions() : NATSOptions(servers: servers)
        options.name = ProcessInfo.processInfo.processName
        return options
    }

    /// Options for the role's addresses (``servers(_:)``) with the TLS settings of the context's
    /// environment (`MICRO_TLS_CA_FILE`, `MICRO_TLS_CERT_FILE`/`MICRO_TLS_KEY_FILE`, `MICRO_TLS_SERVER_NAME`)
    /// for when TLS happens; a ``MicroCore/ConfigurationError`` when a file cannot be read.
    static func servers(_ context: EngineContext) throws -> NATSOptions {
        var options = servers(context.address)
        let settings = TLSSettings(environment: context.environment)
        if settings.isEnabled {
            options.tlsWhenRequired = try settings.clientConfiguration()
            options.tlsServerName = settings.serverName
        }
        return options
    }
}
