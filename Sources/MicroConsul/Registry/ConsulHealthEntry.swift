import Foundation

/// One element of `GET /v1/health/service/<name>`: the node, the service instance and its checks
/// (fields as Consul's HTTP API documents them; others are ignored).
struct ConsulHealthEntry: Sendable, Decodable {
    struct NodeInfo: Sendable, Decodable {
        var Node: String?
        var Address: String?
    }

    struct ServiceInfo: Sendable, Decodable {
        var ID: String
        var Service: String
        var Tags: [String]?
        var Address: String?
        var Port: Int?
    }

    struct Check: Sendable, Decodable {
        var CheckID: String?
        var Status: String
        var ServiceID: String?
    }

    var Node: NodeInfo?
    var Service: ServiceInfo
    var Checks: [Check]?

    /// Whether any of the checks is critical (go-micro leaves such nodes out).
    var isCritical: Bool { (Checks ?? []).contains { $0.Status == "critical" } }

    /// The instance's address: the service's, else the node's (go-micro's rule).
    var address: String {
        let service = Service.Address ?? ""
        return ConsulAddress.join(service.isEmpty ? (Node?.Address ?? "") : service, Service.Port ?? 0)
    }

    /// Decodes a health answer; throws ``ConsulError/Code/invalidResponse`` when it is not the documented array.
    static func decodeList(_ body: [UInt8]) throws(ConsulError) -> [ConsulHealthEntry] {
        if JSONDepth.exceeds(body, limit: 64) { throw ConsulError(.invalidResponse, "health answer nested too deep") }
        do { return try JSONDecoder().decode([ConsulHealthEntry].self, from: Data(body)) } catch {
            throw ConsulError(.invalidResponse, "health answer is not a list of service entries: \(error)", cause: error)
        }
    }

    /// Decodes `GET /v1/catalog/services`: service names to their tags.
    static func decodeCatalog(_ body: [UInt8]) throws(ConsulError) -> [String: [String]] {
        if JSONDepth.exceeds(body, limit: 64) { throw ConsulError(.invalidResponse, "catalog answer nested too deep") }
        do {
            // Tags may be null for a service registered without any.
            let raw = try JSONDecoder().decode([String: [String]?].self, from: Data(body))
            return raw.mapValues { $0 ?? [] }
        } catch {
            throw ConsulError(.invalidResponse, "catalog answer is not an object of service names: \(error)", cause: error)
        }
    }
}
