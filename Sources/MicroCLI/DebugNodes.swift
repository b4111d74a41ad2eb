import Micro

/// Every node of a service, each with call options that reach exactly it: how `micro logs`, `stats`
/// and `trace` ask each node (as `micro health` does).
struct DebugNodes {
    let nodes: [Node]
    private let base: CallOptions

    /// The nodes of `service` in the registry; not found when it has none.
    init(_ service: String, client: Client, options: CallOptions) async throws {
        let nodes = try await client.selector.cache.getService(service).flatMap(\.nodes)
        guard !nodes.isEmpty else { throw MicroError.notFound("go.micro.client", "service \(service): not found") }
        self.nodes = nodes
        self.base = options
    }

    /// Options that call `node` and nothing else, without retries.
    func options(for node: Node) -> CallOptions {
        var options = base
        options.filters.append(.node(node.id))
        options.retries = 0
        return options
    }
}
