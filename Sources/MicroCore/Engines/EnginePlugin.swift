/// What an engine module contributes to ``Engines``: its factories for every role it serves. A
/// program opts into an engine by depending on its module and naming its plugin
/// (`MicroService(name:plugins: [.nats])`), so nothing links engines it does not use.
public struct EnginePlugin: Sendable {
    /// The plugin's name, for messages.
    public let name: String
    private let install: @Sendable (inout Engines) -> Void

    /// A plugin that adds its factories with `install`.
    public init(_ name: String, install: @escaping @Sendable (inout Engines) -> Void) {
        self.name = name
        self.install = install
    }

    /// Adds the plugin's factories to `engines`.
    public func add(to engines: inout Engines) {
        install(&engines)
    }
}

extension EnginePlugin {
    /// The engines in this module: the `local` (files under `$MICRO_HOME`) and `memory` registries,
    /// the `memory` broker, the `memory` transport, the `memory` store, event stream, event store and
    /// config source (one of each per process, so they reach each other).
    public static let inProcess = EnginePlugin("in-process") { engines in
        engines.add(RegistryFactory("local") { context in
            LocalRegistry(directory: context.address ?? LocalRegistry.defaultDirectory(environment: context.environment))
        })
        engines.add(RegistryFactory("memory") { _ in SharedInProcessEngines.registry })
        engines.add(BrokerFactory("memory") { _ in SharedInProcessEngines.broker })
        engines.add(ClientTransportFactory("memory") { _ in SharedInProcessEngines.transport })
        engines.add(ServerTransportFactory("memory") { _ in SharedInProcessEngines.transport })
        engines.add(StoreFactory("memory") { _ in SharedInProcessEngines.store })
        engines.add(EventStreamFactory("memory") { _ in SharedInProcessEngines.eventStream })
        engines.add(EventStoreFactory("memory") { _ in SharedInProcessEngines.eventStore })
        engines.add(ConfigSourceFactory("memory") { _ in SharedInProcessEngines.config })
        engines.add(AuthFactory("memory") { _ in MemoryAuth() })
    }
}

/// One memory registry, broker, transport, store, event stream, event store and config source per
/// process, so `memory` engines reach each other.
enum SharedInProcessEngines {
    static let registry = MemoryRegistry()
    static let broker = MemoryBroker()
    static let transport = MemoryTransport()
    static let store = MemoryStore()
    static let config = MemoryConfigSource()
    static let eventStream = MemoryEventStream(closeOnShutdown: false)
    static let eventStore = MemoryEventStore.processShared()
}
