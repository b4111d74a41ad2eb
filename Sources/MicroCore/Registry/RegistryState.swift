import NIOCore

/// The bookkeeping every registry backend shares: records by name and version, nodes with expiry,
/// and the watch events each change produces. A value type, so it is tested on its own.
package struct RegistryState: Sendable {
    struct Entry: Sendable {
        var record: ServiceRecord   // nodes kept separately
        var nodes: [String: (node: Node, expires: NIODeadline?)]
        var order: [String]
    }

    private var services: [String: [String: Entry]] = [:]

    /// An empty state.
    package init() {}

    /// Adds or refreshes the record's nodes; returns the events this produced (`create` for a new
    /// service version, `update` for a new node or changed details, nothing for a plain heartbeat).
    package mutating func register(_ service: ServiceRecord, ttl: Duration?, now: NIODeadline = .now()) -> [RegistryEvent] {
        let expires = ttl.map { now + TimeAmount.nanoseconds(Int64($0.components.seconds) * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000) }
        var versions = services[service.name] ?? [:]
        var template = service
        template.nodes = []
        var event: RegistryEvent.Action?
        var entry: Entry
        if var existing = versions[service.version] {
            if existing.record != template { event = .update }
            existing.record = template
            entry = existing
        } else {
            entry = Entry(record: template, nodes: [:], order: [])
            event = .create
        }
        for node in service.nodes {
            if let old = entry.nodes[node.id] {
                if old.node != node, event == nil { event = .update }
            } else {
                entry.order.append(node.id)
                if event == nil { event = .update }
            }
            entry.nodes[node.id] = (node, expires)
        }
        versions[service.version] = entry
        services[service.name] = versions
        guard let event else { return [] }
        return [RegistryEvent(action: event, service: Self.record(entry))]
    }

    /// Removes the record's nodes (all of that version's nodes when the record lists none).
    package mutating func deregister(_ service: ServiceRecord) -> [RegistryEvent] {
        guard var versions = services[service.name], var entry = versions[service.version] else { return [] }
        let ids = service.nodes.isEmpty ? entry.order : service.nodes.map(\.id)
        return remove(ids: Set(ids), name: service.name, version: service.version, entry: &entry, versions: &versions)
    }

    /// Drops nodes whose TTL passed; returns the events.
    package mutating func expire(now: NIODeadline = .now()) -> [RegistryEvent] {
        var events: [RegistryEvent] = []
        for (name, versionsValue) in services {
            for (version, entryValue) in versionsValue {
                let dead = entryValue.nodes.filter { ($0.value.expires.map { $0 <= now }) ?? false }.map(\.key)
                guard !dead.isEmpty else { continue }
                var versions = services[name] ?? [:]
                var entry = entryValue
                events += remove(ids: Set(dead), name: name, version: version, entry: &entry, versions: &versions)
            }
        }
        return events
    }

    private mutating func remove(ids: Set<String>, name: String, version: String, entry: inout Entry, versions: inout [String: Entry]) -> [RegistryEvent] {
        var removed: [Node] = []
        for id in ids { if let n = entry.nodes.removeValue(forKey: id) { removed.append(n.node) } }
        guard !removed.isEmpty else { return [] }
        entry.order.removeAll { ids.contains($0) }
        if entry.nodes.isEmpty {
            versions[version] = nil
            services[name] = versions.isEmpty ? nil : versions
            var gone = entry.record
            gone.nodes = removed
            return [RegistryEvent(action: .delete, service: gone)]
        }
        versions[version] = entry
        services[name] = versions
        return [RegistryEvent(action: .update, service: Self.record(entry))]
    }

    /// Every version of a service with its nodes.
    package func get(_ name: String) -> [ServiceRecord] {
        (services[name] ?? [:]).values.map(Self.record).sorted { $0.version < $1.version }
    }

    /// Every service, sorted by name and version.
    package func list() -> [ServiceRecord] {
        services.keys.sorted().flatMap { get($0) }
    }

    private static func record(_ entry: Entry) -> ServiceRecord {
        var r = entry.record
        r.nodes = entry.order.compactMap { entry.nodes[$0]?.node }
        return r
    }
}
