/// Where services announce themselves and find each other (go-micro's `registry.Registry`).
///
/// Implementations: ``MemoryRegistry`` (in process), ``LocalRegistry`` (files on one machine), and
/// engine modules (mDNS, etcd, NATS, gossip, Consul). A registry is an ``Engine``: a service runs it
/// in its `ServiceGroup`, and its watches, sockets and connections end with it.
public protocol Registry: Engine {
    /// The registry's name as `MICRO_REGISTRY` spells it (`memory`, `local`, `mdns`, ...).
    var name: String { get }
    /// Adds or refreshes the record's nodes; they expire after `ttl` unless registered again.
    func register(_ service: ServiceRecord, ttl: Duration?) async throws
    /// Removes the record's nodes.
    func deregister(_ service: ServiceRecord) async throws
    /// Every version of a service, each with its live nodes; empty when unknown.
    func getService(_ name: String) async throws -> [ServiceRecord]
    /// Every service known, nodes included where the registry has them.
    func listServices() async throws -> [ServiceRecord]
    /// A stream of changes, for one service or (nil) all of them, until the task is cancelled.
    func watch(service: String?) async throws -> RegistryWatch
}

/// The changes a registry reports, as an async sequence that ends when its consumer stops.
public typealias RegistryWatch = AsyncThrowingStream<RegistryEvent, any Error>

extension Registry {
    /// Registers with no expiry.
    public func register(_ service: ServiceRecord) async throws {
        try await register(service, ttl: nil)
    }
}
