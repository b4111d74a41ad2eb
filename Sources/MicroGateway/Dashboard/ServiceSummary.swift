import MicroCore

/// One row of the dashboard's service list: a service's versions and how many nodes each has.
struct ServiceSummary: Codable, Sendable, Equatable {
    var name: String
    var versions: [String]
    var nodes: Int

    /// The list for a registry's records, by name.
    static func list(_ records: [ServiceRecord]) -> [ServiceSummary] {
        var byName: [String: ServiceSummary] = [:]
        for r in records {
            var s = byName[r.name] ?? ServiceSummary(name: r.name, versions: [], nodes: 0)
            if !s.versions.contains(r.version) { s.versions.append(r.version) }
            s.nodes += r.nodes.count
            byName[r.name] = s
        }
        return byName.values.sorted { $0.name < $1.name }
    }
}
