import Foundation
import MicroCore

extension EnginePlugin {
    /// NATS as `nats` registry, broker, transport, store (JetStream key-value, ``NATSStore``), event
    /// stream (``NATSEventStream``) and event store (``NATSEventStore``) on JetStream, and config source
    /// (``NATSConfigSource``, JetStream key-value); each
    /// role's address is a comma-separated list of server URLs (default `nats://127.0.0.1:4222`).
    public static let nats = EnginePlugin("nats") { engines in
        engines.add(RegistryFactory("nats") { context in NATSRegistry(options: NATSOptions.servers(context.address)) })
        engines.add(BrokerFactory("nats") { context in NATSBroker(options: NATSOptions.servers(context.address)) })
        engines.add(ClientTransportFactory("nats") { context in NATSClientTransport(options: NATSOptions.servers(context.address)) })
        engines.add(ServerTransportFactory("nats") { context in NATSServerTransport(options: NATSOptions.servers(context.address)) })
        engines.add(StoreFactory("nats") { context in NATSStore(addresses: context.address, logger: context.logger) })
        engines.add(ConfigSourceFactory("nats") { context in
            try NATSConfigSource(options: NATSOptions.servers(context.address), bucket: context.environment["MICRO_CONFIG_BUCKET"] ?? "default",
                                 key: context.environment["MICRO_CONFIG_KEY"] ?? "micro_config", logger: context.logger)
        })
        engines.add(EventStreamFactory("nats") { context in
            NATSEventStream(addresses: context.address,
                            configuration: try NATSEventsConfiguration().duplicateWindow(from: context.environment, variable: "MICRO_EVENTS_DUPLICATE_WINDOW"),
                            logger: context.logger)
        })
        engines.add(EventStoreFactory("nats") { context in
            try NATSEventStore(addresses: context.address,
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
}
