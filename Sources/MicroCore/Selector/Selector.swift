/// Picks the node a call goes to (go-micro's `selector.Selector`): looks the service up through a
/// cache, applies filters, skips nodes that failed recently (unless none is left), then applies the strategy.
public struct Selector: Sendable {
    /// The cache lookups go through.
    public let cache: RegistryCache
    /// How a node is picked.
    public var strategy: SelectionStrategy
    /// Nodes that failed recently.
    public let failures: FailureTracker

    /// A selector over `registry` (wrapped in a ``RegistryCache``).
    public init(registry: any Registry, strategy: SelectionStrategy = .random, failures: FailureTracker = FailureTracker()) {
        self.cache = (registry as? RegistryCache) ?? RegistryCache(registry)
        self.strategy = strategy
        self.failures = failures
    }

    /// The node to call next; `exclude` lists nodes already tried for this call.
    /// Throws a 404 when the service is unknown and a 503 when no node passes the filters.
    public func select(_ service: String, filters: [NodeFilter] = [], exclude: Set<String> = []) async throws -> Node {
        try choose(service, from: await cache.service(service), filters: filters, exclude: exclude)
    }

    /// ``select(_:filters:exclude:)`` among the nodes that speak one of `protocols`. When every node
    /// does, none is excluded or failing and no filter is given (a client's usual call), the cached
    /// node list is picked from as it is: nothing is copied or filtered per call.
    package func select(_ service: String, speaking protocols: Set<String>, filters: [NodeFilter] = [],
                        exclude: Set<String> = []) async throws -> Node {
        let cached = try await cache.service(service)
        if filters.isEmpty, exclude.isEmpty, !cached.nodes.isEmpty, failures.isEmpty, cached.protocols.isSubset(of: protocols) {
            return strategy.pick(service, cached.nodes)
        }
        return try choose(service, from: cached, filters: filters + [.speaking(protocols)], exclude: exclude)
    }

    private func choose(_ service: String, from cached: CachedService, filters: [NodeFilter], exclude: Set<String>) throws -> Node {
        var records = cached.records
        if records.isEmpty {
            throw MicroError.notFound("go.micro.client", "service \(service): not found")
        }
        for f in filters { records = f.apply(records) }
        let nodes = records.flatMap(\.nodes).filter { !exclude.contains($0.id) }
        guard !nodes.isEmpty else {
            throw MicroError.unavailable("go.micro.client", "service \(service): no node available")
        }
        let healthy = nodes.filter { !failures.isAvoided($0.id) }
        return strategy.pick(service, healthy.isEmpty ? nodes : healthy)
    }
}
