/// The engines a program can choose by name, per role, and the choice `MICRO_*` makes among them.
/// Start from the in-process ones (or `Micro`'s embedded defaults) and add engine modules' plugins.
public struct Engines: Sendable {
    /// Registries by name.
    public private(set) var registries: [String: RegistryFactory] = [:]
    /// Brokers by name.
    public private(set) var brokers: [String: BrokerFactory] = [:]
    /// Calling sides of transports by name.
    public private(set) var clientTransports: [String: ClientTransportFactory] = [:]
    /// Serving sides of transports by name.
    public private(set) var serverTransports: [String: ServerTransportFactory] = [:]
    /// Stores by name.
    public private(set) var stores: [String: StoreFactory] = [:]
    /// Lock and leader engines by name (any store also serves as one, see ``makeSync(_:)``).
    public private(set) var syncs: [String: SyncFactory] = [:]
    /// Configuration sources by name.
    public private(set) var configSources: [String: ConfigSourceFactory] = [:]
    /// Event streams by name.
    public private(set) var eventStreams: [String: EventStreamFactory] = [:]
    /// Event stores by name.
    public private(set) var eventStores: [String: EventStoreFactory] = [:]
    /// Auths by name.
    public private(set) var auths: [String: AuthFactory] = [:]

    /// The engines of `plugins` (none: an empty catalog).
    public init(_ plugins: [EnginePlugin] = []) {
        for plugin in plugins { plugin.add(to: &self) }
    }

    /// Adds (or replaces) a registry.
    public mutating func add(_ factory: RegistryFactory) { registries[factory.name] = factory }
    /// Adds (or replaces) a broker.
    public mutating func add(_ factory: BrokerFactory) { brokers[factory.name] = factory }
    /// Adds (or replaces) the calling side of a transport.
    public mutating func add(_ factory: ClientTransportFactory) { clientTransports[factory.name] = factory }
    /// Adds (or replaces) the serving side of a transport.
    public mutating func add(_ factory: ServerTransportFactory) { serverTransports[factory.name] = factory }
    /// Adds (or replaces) a store.
    public mutating func add(_ factory: StoreFactory) { stores[factory.name] = factory }
    /// Adds (or replaces) a lock and leader engine.
    public mutating func add(_ factory: SyncFactory) { syncs[factory.name] = factory }
    /// Adds (or replaces) a configuration source.
    public mutating func add(_ factory: ConfigSourceFactory) { configSources[factory.name] = factory }
    /// Adds (or replaces) an event stream.
    public mutating func add(_ factory: EventStreamFactory) { eventStreams[factory.name] = factory }
    /// Adds (or replaces) an event store.
    public mutating func add(_ factory: EventStoreFactory) { eventStores[factory.name] = factory }
    /// Adds (or replaces) an auth.
    public mutating func add(_ factory: AuthFactory) { auths[factory.name] = factory }

    /// These engines and those of `plugins`.
    public func adding(_ plugins: [EnginePlugin]) -> Engines {
        var engines = self
        for plugin in plugins { plugin.add(to: &engines) }
        return engines
    }

    // MARK: Choosing

    /// The registry `MICRO_REGISTRY` names, at `MICRO_REGISTRY_ADDRESS`.
    public func makeRegistry(_ context: EngineContext) throws -> any Registry {
        var context = context
        context.address = context.environment.registryAddress
        return try Self.pick(registries, context.environment.registry, role: "registry", variable: "MICRO_REGISTRY").make(context)
    }

    /// The broker `MICRO_BROKER` names, at `MICRO_BROKER_ADDRESS` (given the registry already made).
    public func makeBroker(_ context: EngineContext) throws -> any Broker {
        var context = context
        context.address = context.environment.brokerAddress
        return try Self.pick(brokers, context.environment.broker, role: "broker", variable: "MICRO_BROKER").make(context)
    }

    /// Both sides of the transport `MICRO_TRANSPORT` names, at `MICRO_TRANSPORT_ADDRESS`.
    public func makeTransport(_ context: EngineContext) throws -> (client: any ClientTransport, server: any ServerTransport) {
        var context = context
        context.address = context.environment.transportAddress
        let name = context.environment.transport
        let server = try Self.pick(serverTransports, name, role: "transport", variable: "MICRO_TRANSPORT").make(context)
        let client = try Self.pick(clientTransports, name, role: "transport", variable: "MICRO_TRANSPORT").make(context)
        return (client, server)
    }

    /// The store `MICRO_STORE` names, at `MICRO_STORE_ADDRESS`, bound to ``StoreScope/default``.
    public func makeStore(_ context: EngineContext) throws -> any Store {
        var context = context
        context.address = context.environment.storeAddress
        return try Self.pick(stores, context.environment.store, role: "store", variable: "MICRO_STORE").make(context)
    }

    /// The lock and leader engine `MICRO_SYNC` names, at `MICRO_SYNC_ADDRESS`: its own factory, or else
    /// a ``StoreSync`` over the store of that name made at that address (which the sync then owns).
    public func makeSync(_ context: EngineContext) throws -> any Sync {
        var context = context
        context.address = context.environment.syncAddress
        let name = context.environment.sync
        if syncs[name] == nil, let store = stores[name] {
            return StoreSync(store: try store.make(context), ownsStore: true)
        }
        return try Self.pick(syncs, name, role: "sync", variable: "MICRO_SYNC").make(context)
    }

    /// The configuration source `MICRO_CONFIG` names, at `MICRO_CONFIG_ADDRESS`; nil when
    /// `MICRO_CONFIG` is unset or `none` (a service then runs on its files, environment and defaults).
    public func makeConfigSource(_ context: EngineContext) throws -> (any ConfigSource)? {
        guard let name = context.environment.config else { return nil }
        var context = context
        context.address = context.environment.configAddress
        return try Self.pick(configSources, name, role: "config source", variable: "MICRO_CONFIG").make(context)
    }

    /// The event stream `MICRO_EVENTS` names, at `MICRO_EVENTS_ADDRESS`.
    public func makeEventStream(_ context: EngineContext) throws -> any EventStream {
        var context = context
        context.address = context.environment.eventsAddress
        return try Self.pick(eventStreams, context.environment.events, role: "event stream", variable: "MICRO_EVENTS").make(context)
    }

    /// The event store `MICRO_EVENT_STORE` names, at `MICRO_EVENT_STORE_ADDRESS`.
    public func makeEventStore(_ context: EngineContext) throws -> any EventStore {
        var context = context
        context.address = context.environment.eventStoreAddress
        return try Self.pick(eventStores, context.environment.eventStore, role: "event store", variable: "MICRO_EVENT_STORE").make(context)
    }

    /// The auth `MICRO_AUTH` names, at `MICRO_AUTH_ADDRESS`; nil when `MICRO_AUTH` is unset or `none`.
    public func makeAuth(_ context: EngineContext) throws -> (any Auth)? {
        guard let name = context.environment.auth else { return nil }
        var context = context
        context.address = context.environment.authAddress
        return try Self.pick(auths, name, role: "auth", variable: "MICRO_AUTH").make(context)
    }

    /// The calling side of the transport `MICRO_TRANSPORT` names.
    public func makeClientTransport(_ context: EngineContext) throws -> any ClientTransport {
        var context = context
        context.address = context.environment.transportAddress
        return try Self.pick(clientTransports, context.environment.transport, role: "transport", variable: "MICRO_TRANSPORT").make(context)
    }

    /// The calling sides a client needs to reach every node it may find: `primary` (the chosen
    /// transport's), then one of every other known transport whose protocol is not covered yet, in
    /// name order. They connect only when a node speaking their protocol is called.
    public func clientTransports(primary: any ClientTransport, _ context: EngineContext) throws -> [any ClientTransport] {
        var context = context
        context.address = context.environment.transportAddress
        var all: [any ClientTransport] = [primary]
        var protocols: Set<String> = [primary.protocolName]
        for name in clientTransports.keys.sorted() where name != context.environment.transport && name != "memory" {
            // A client transport holds nothing until its first call, so one whose protocol is covered is dropped.
            let transport = try clientTransports[name]!.make(context)
            if protocols.insert(transport.protocolName).inserted { all.append(transport) }
        }
        return all
    }

    private static func pick<Product>(_ factories: [String: EngineFactory<Product>], _ name: String, role: String,
                                      variable: String) throws -> EngineFactory<Product> {
        guard let factory = factories[name.lowercased()] else {
            let known = factories.keys.sorted().joined(separator: ", ")
            throw ConfigurationError("unknown \(role) '\(name)' (\(variable)); this program has: \(known) (engine modules add more: depend on one and pass its plugin)")
        }
        return factory
    }
}
