/// A service as ``RegistryCache`` holds it: its records, their nodes in one list and the protocols
/// those nodes speak (node metadata `protocol`, `mucp` when absent), so selecting a node for a call
/// needs no work per call beyond a lookup.
package struct CachedService: Sendable {
    /// The records, as the registry answered or the watch updated them.
    package let records: [ServiceRecord]
    /// Every record's nodes, in record order.
    package let nodes: [Node]
    /// The protocols the nodes speak.
    package let protocols: Set<String>

    /// Derives the node list and protocols of `records`.
    package init(_ records: [ServiceRecord]) {
        self.records = records
        nodes = records.count == 1 ? records[0].nodes : records.flatMap(\.nodes)
        protocols = Set(nodes.map { $0.metadata["protocol"] ?? "mucp" })
    }
}
