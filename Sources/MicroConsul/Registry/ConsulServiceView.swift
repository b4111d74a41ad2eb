import MicroCore

/// A watch's picture of one service, turning each fresh answer (the records of every version) into
/// the registry events every registry reports (``RegistryState`` semantics: `create` for a new
/// version, `update` for a node added, changed or removed, `delete` when a version's last node
/// goes; an unchanged answer is silent). A value type, tested on its own.
struct ConsulServiceView: Sendable {
    let name: String
    private(set) var state = RegistryState()

    init(name: String) {
        self.name = name
    }

    /// Replaces the picture with `records`, reporting what changed.
    mutating func apply(_ records: [ServiceRecord]) -> [RegistryEvent] {
        var events: [RegistryEvent] = []
        var present: [String: Set<String>] = [:]
        for r in records { present[r.version, default: []].formUnion(r.nodes.map(\.id)) }
        for old in state.get(name) {
            let kept = present[old.version] ?? []
            let gone = old.nodes.filter { !kept.contains($0.id) }
            if !gone.isEmpty {
                events += state.deregister(ServiceRecord(name: name, version: old.version, nodes: gone))
            }
        }
        for r in records where !r.nodes.isEmpty {
            events += state.register(r, ttl: nil)
        }
        return events
    }

    /// Whether it holds any node.
    var isEmpty: Bool { state.get(name).isEmpty }
}
