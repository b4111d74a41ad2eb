import MicroCore

/// Healthy means registered in the registry and answering `Debug.Health` with `ok`, asked of each node
/// by its id (as `micro health` does).
public struct RegistryHealthCheck: ServiceHealthCheck {
    /// Where services register.
    public let registry: any Registry
    /// The client that asks each node.
    public let client: Client
    /// The longest one node's answer may take.
    public let timeout: Duration

    /// A check over `registry`, asking through `client`.
    public init(registry: any Registry, client: Client, timeout: Duration = .seconds(2)) {
        self.registry = registry
        self.client = client
        self.timeout = timeout
    }

    public func healthyNodes(of service: String) async -> Set<String> {
        guard let records = try? await registry.getService(service) else { return [] }
        var healthy: Set<String> = []
        for node in records.flatMap(\.nodes) {
            var options = CallOptions(timeout: timeout, retries: 0)
            options.filters.append(.node(node.id))   // this very node, over whichever transport it speaks
            let answer = try? await client.call(service, "Debug.Health", [String: String](), as: HealthResponse.self, options: options)
            if answer?.status == "ok" { healthy.insert(node.id) }
        }
        return healthy
    }
}
