/// Tells which nodes of a service are healthy; the runtime waits on it before it starts what
/// depends on a service, and before an update stops the old instance.
public protocol ServiceHealthCheck: Sendable {
    /// The ids of `service`'s nodes that are registered and healthy now (empty when none is, or on any error).
    func healthyNodes(of service: String) async -> Set<String>
}
