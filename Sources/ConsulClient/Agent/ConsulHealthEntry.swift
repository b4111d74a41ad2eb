import Foundation
import MicroAddress

/// One element of `GET /v1/health/service/<name>`: the node, the service instance and its checks
/// (the fields go-micro reads, as Consul's HTTP API names them; others are ignored).
public struct ConsulHealthEntry: Sendable, Hashable, Decodable {
    /// The node the instance runs on.
    public struct NodeInfo: Sendable, Hashable, Decodable {
        /// The node's name (`Node`).
        public var node: String?
        /// The node's address (`Address`).
        public var address: String?

        /// A node.
        public init(node: String? = nil, address: String? = nil) {
            self.node = node
            self.address = address
        }

        enum CodingKeys: String, CodingKey {
            case node = "Node", address = "Address"
        }
    }

    /// The service instance.
    public struct ServiceInfo: Sendable, Hashable, Decodable {
        /// The instance's id (`ID`).
        public var id: String
        /// The service's name (`Service`).
        public var service: String
        /// The instance's tags (`Tags`; null when it has none).
        public var tags: [String]?
        /// The instance's own address (`Address`; empty: the node's).
        public var address: String?
        /// The instance's port (`Port`).
        public var port: Int?

        /// An instance.
        public init(id: String, service: String, tags: [String]? = nil, address: String? = nil, port: Int? = nil) {
            self.id = id
            self.service = service
            self.tags = tags
            self.address = address
            self.port = port
        }

        enum CodingKeys: String, CodingKey {
            case id = "ID", service = "Service", tags = "Tags", address = "Address", port = "Port"
        }
    }

    /// One health check of the node or the instance.
    public struct Check: Sendable, Hashable, Decodable {
        /// The check's id (`CheckID`).
        public var checkID: String?
        /// `passing`, `warning` or `critical` (`Status`).
        public var status: String
        /// The instance the check belongs to (`ServiceID`; empty for a node check).
        public var serviceID: String?

        /// A check.
        public init(checkID: String? = nil, status: String, serviceID: String? = nil) {
            self.checkID = checkID
            self.status = status
            self.serviceID = serviceID
        }

        enum CodingKeys: String, CodingKey {
            case checkID = "CheckID", status = "Status", serviceID = "ServiceID"
        }
    }

    /// The node (`Node`).
    public var node: NodeInfo?
    /// The instance (`Service`).
    public var service: ServiceInfo
    /// The checks (`Checks`).
    public var checks: [Check]?

    /// An entry.
    public init(node: NodeInfo? = nil, service: ServiceInfo, checks: [Check]? = nil) {
        self.node = node
        self.service = service
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey {
        case node = "Node", service = "Service", checks = "Checks"
    }

    /// Whether any of the checks is critical (go-micro leaves such nodes out).
    public var isCritical: Bool { (checks ?? []).contains { $0.status == "critical" } }

    /// The instance's `host:port`: the service's address, else the node's (go-micro's rule).
    public var address: String {
        let serviceAddress = service.address ?? ""
        return HostPort(host: serviceAddress.isEmpty ? (node?.address ?? "") : serviceAddress, port: service.port ?? 0).description
    }

    /// Decodes a health answer; throws ``ConsulError/Code/invalidResponse`` when it is not the documented array.
    package static func decodeList(_ body: [UInt8]) throws(ConsulError) -> [ConsulHealthEntry] {
        if JSONDepth.exceeds(body, limit: 64) { throw ConsulError(.invalidResponse, "health answer nested too deep") }
        do { return try JSONDecoder().decode([ConsulHealthEntry].self, from: Data(body)) } catch {
            throw ConsulError(.invalidResponse, "health answer is not a list of service entries: \(error)", cause: error)
        }
    }

    /// Decodes `GET /v1/catalog/services`: service names to their tags.
    package static func decodeCatalog(_ body: [UInt8]) throws(ConsulError) -> [String: [String]] {
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
