import ConsulClient
import MicroAddress
import MicroCore

extension ConsulServiceRegistration {
    /// The registration of `node` of `service` as go-micro's plugin makes it: go-micro's tags, the
    /// node's address split as Go's `net.SplitHostPort` splits it (a node address that does not split
    /// goes whole into `Address`, with no port), and with a TTL a TTL check.
    init(service: ServiceRecord, node: Node, ttl: Duration?, configuration: ConsulRegistryConfiguration) {
        let split = try? HostPort(parsing: node.address, defaultPort: 0, defaultHost: "")
        let host = split?.host ?? ""
        self.init(id: node.id, name: service.name,
                  tags: ConsulTags.encode(service, node: node, serviceMetadata: configuration.encodeServiceMetadata),
                  address: host.isEmpty ? node.address : host, port: split?.port ?? 0,
                  ttl: ttl, deregisterAfter: ttl.map { configuration.deregisterCriticalServiceAfter(ttl: $0) })
    }
}
