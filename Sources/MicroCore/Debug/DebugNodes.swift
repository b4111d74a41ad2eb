/// Every node of a service, each with call options that reach exactly it: how `micro logs`, `stats`
/// and `trace` and the dashboard's traces ask each node (as `micro health` does).
package struct DebugNodes: Sendable {
    /// The most nodes of one service asked.
    package static let maxNodes = 64
    /// The service's nodes (at most ``maxNodes``).
    package let nodes: [Node]
    private let base: CallOptions

    /// The nodes of `service` in the registry; not found when it has none.
    package init(_ service: String, client: Client, options: CallOptions) async throws {
        let nodes = try await client.selector.cache.getService(service).flatMap(\.nodes)
        guard !nodes.isEmpty else { throw MicroError.notFound("go.micro.client", "service \(service): not found") }
        self.nodes = Array(nodes.prefix(Self.maxNodes))
        self.base = options
    }

    /// Options that call `node` and nothing else, without retries.
    package func options(for node: Node) -> CallOptions {
        var options = base
        options.filters.append(.node(node.id))
        options.retries = 0
        return options
    }
}
