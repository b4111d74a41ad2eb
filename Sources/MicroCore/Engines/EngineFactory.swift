/// How one engine of one role is made: its name as `MICRO_<ROLE>` spells it and a function from an
/// ``EngineContext``. Every role — registry, broker, transports, and wave two's store, sync, events,
/// config and auth — uses this one shape.
public struct EngineFactory<Product: Sendable>: Sendable {
    /// The name users choose it by (`local`, `nats`, `etcd`, ...).
    public let name: String
    private let body: @Sendable (EngineContext) throws -> Product

    /// A factory named `name`.
    public init(_ name: String, _ make: @escaping @Sendable (EngineContext) throws -> Product) {
        self.name = name.lowercased()
        self.body = make
    }

    /// Makes the engine.
    public func make(_ context: EngineContext) throws -> Product {
        try body(context)
    }
}

/// Makes a registry.
public typealias RegistryFactory = EngineFactory<any Registry>
/// Makes a broker.
public typealias BrokerFactory = EngineFactory<any Broker>
/// Makes the calling side of a transport.
public typealias ClientTransportFactory = EngineFactory<any ClientTransport>
/// Makes the serving side of a transport.
public typealias ServerTransportFactory = EngineFactory<any ServerTransport>
/// Makes a store, bound to ``StoreScope/default`` (``Store/scoped(_:)`` reaches the others).
public typealias StoreFactory = EngineFactory<any Store>
/// Makes a lock and leader engine.
public typealias SyncFactory = EngineFactory<any Sync>
/// Makes a configuration source.
public typealias ConfigSourceFactory = EngineFactory<any ConfigSource>
/// Makes an auth (`MICRO_AUTH`).
public typealias AuthFactory = EngineFactory<any Auth>
/// Makes an event stream (`MICRO_EVENTS`).
public typealias EventStreamFactory = EngineFactory<any EventStream>
/// Makes an event store (`MICRO_EVENT_STORE`).
public typealias EventStoreFactory = EngineFactory<any EventStore>
