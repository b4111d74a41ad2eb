import Foundation

/// go-micro's etcd key layout: `/micro/registry/<service>/<node id>` holding the service record
/// (with that one node) as JSON. Like go-micro's `nodePath`, a `/` inside the service name or node id
/// becomes `-` in the key, so every key has exactly two parts below the prefix.
public struct EtcdRegistryKey: Sendable, Hashable {
    /// go-micro's prefix for registry keys.
    public static let prefix = "/micro/registry/"

    /// The service name.
    public var service: String
    /// The node id.
    public var node: String

    /// The key of `node` of `service`.
    public init(service: String, node: String) {
        self.service = service
        self.node = node
    }

    /// The full key.
    public var key: String { Self.prefix + Self.component(service) + "/" + Self.component(node) }

    /// The prefix of every node of `service`.
    public static func servicePrefix(_ service: String) -> String { prefix + component(service) + "/" }

    /// A name as go-micro writes it into a key: each `/` replaced by `-`.
    public static func component(_ name: String) -> String { name.replacingOccurrences(of: "/", with: "-") }

    /// Parses a key under ``prefix``; nil for keys of another shape (both parts must be non-empty;
    /// the node id may itself contain `/`).
    public init?(parsing key: String) {
        guard key.hasPrefix(Self.prefix) else { return nil }
        let rest = key.dropFirst(Self.prefix.count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let service = rest[..<slash], node = rest[rest.index(after: slash)...]
        guard !service.isEmpty, !node.isEmpty else { return nil }
        self.service = String(service)
        self.node = String(node)
    }
}
