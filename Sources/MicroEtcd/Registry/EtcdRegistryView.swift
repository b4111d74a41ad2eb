import MicroCore

/// A registry watch's picture of the keys under its prefix, turning etcd's puts and deletes into the
/// registry events every registry reports (``RegistryState`` semantics: `create` for a new service
/// version, `update` for a node added, changed or removed, `delete` when its last node goes; a put
/// that changes nothing is silent). A value type, tested on its own.
struct EtcdRegistryView: Sendable {
    /// What a key holds: the nodes of one service version.
    struct Entry: Sendable, Hashable {
        var name: String
        var version: String
        var nodeIDs: [String]
    }

    /// Only this service's records (nil: all).
    let service: String?
    private(set) var state = RegistryState()
    private(set) var entries: [[UInt8]: Entry] = [:]

    init(service: String?) {
        self.service = service
    }

    /// Applies a put of `record` (nil: the value is not a registry record) at `key`.
    mutating func put(key: [UInt8], record: ServiceRecord?) -> [RegistryEvent] {
        guard let record, service == nil || record.name == service else {
            // Garbage or a foreign record now: whatever the key held before is gone.
            return delete(key: key)
        }
        var events: [RegistryEvent] = []
        if let old = entries[key] {
            if old.name != record.name || old.version != record.version {
                events += remove(old)
            } else {
                let kept = Set(record.nodes.map(\.id))
                let dropped = old.nodeIDs.filter { !kept.contains($0) }
                if !dropped.isEmpty { events += remove(Entry(name: old.name, version: old.version, nodeIDs: dropped)) }
            }
        }
        entries[key] = Entry(name: record.name, version: record.version, nodeIDs: record.nodes.map(\.id))
        events += state.register(record, ttl: nil)
        return events
    }

    /// Applies a delete of `key` (a deregistration or an expired lease).
    mutating func delete(key: [UInt8]) -> [RegistryEvent] {
        guard let old = entries.removeValue(forKey: key) else { return [] }
        return remove(old)
    }

    /// Replaces the picture with a fresh read (after history the watch needed was compacted),
    /// reporting what changed in between.
    mutating func resync(_ snapshot: [(key: [UInt8], record: ServiceRecord?)]) -> [RegistryEvent] {
        var events: [RegistryEvent] = []
        let present = Set(snapshot.map(\.key))
        for key in entries.keys where !present.contains(key) { events += delete(key: key) }
        for (key, record) in snapshot { events += put(key: key, record: record) }
        return events
    }

    private mutating func remove(_ entry: Entry) -> [RegistryEvent] {
        // A record without nodes would deregister the whole version.
        guard !entry.nodeIDs.isEmpty else { return [] }
        return state.deregister(ServiceRecord(name: entry.name, version: entry.version, nodes: entry.nodeIDs.map { Node(id: $0, address: "") }))
    }
}
