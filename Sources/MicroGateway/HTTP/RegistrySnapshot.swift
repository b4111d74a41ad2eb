import MicroCore

/// Every service the registry knows now, each version with its endpoints and nodes (bounded).
enum RegistrySnapshot {
    /// At most this many service names are read.
    static let maxServices = 1000

    /// With `fresh`, a caching registry is asked past its cache (the dashboard's view must show departures at once).
    static func services(_ registry: any Registry, fresh: Bool = false) async throws -> [ServiceRecord] {
        let listed = try await registry.listServices()
        var names: [String] = []
        var seen = Set<String>()
        for record in listed where seen.insert(record.name).inserted {
            names.append(record.name)
            if names.count >= maxServices { break }
        }
        var records: [ServiceRecord] = []
        let cache = fresh ? registry as? RegistryCache : nil
        for name in names.sorted() {
            cache?.invalidate(name)
            records += try await registry.getService(name)
        }
        return records
    }
}
