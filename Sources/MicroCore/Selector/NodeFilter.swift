/// Narrows the records a selector picks from (go-micro's `selector.Filter`).
public struct NodeFilter: Sendable {
    /// The filtering function: records in, records out (with fewer records or nodes).
    public let apply: @Sendable ([ServiceRecord]) -> [ServiceRecord]

    /// A filter from a function.
    public init(_ apply: @escaping @Sendable ([ServiceRecord]) -> [ServiceRecord]) {
        self.apply = apply
    }

    /// Only records of this version.
    public static func version(_ version: String) -> NodeFilter {
        NodeFilter { $0.filter { $0.version == version } }
    }

    /// Only nodes whose metadata has `key` = `value`.
    public static func metadata(_ key: String, _ value: String) -> NodeFilter {
        NodeFilter { records in
            records.map { r in
                var r = r
                r.nodes = r.nodes.filter { $0.metadata[key] == value }
                return r
            }
        }
    }

    /// Only records that declare this endpoint (records declaring no endpoints are kept).
    public static func endpoint(_ name: String) -> NodeFilter {
        NodeFilter { $0.filter { $0.endpoints.isEmpty || $0.endpoints.contains { $0.name == name } } }
    }

    /// Only nodes that speak this protocol (node metadata `protocol`; nodes without it count as `mucp`).
    public static func `protocol`(_ name: String) -> NodeFilter {
        NodeFilter { records in
            records.map { r in
                var r = r
                r.nodes = r.nodes.filter { ($0.metadata["protocol"] ?? "mucp") == name }
                return r
            }
        }
    }

    /// Only nodes that speak one of these protocols (nodes without a `protocol` count as `mucp`).
    package static func speaking(_ names: Set<String>) -> NodeFilter {
        NodeFilter { records in
            records.map { r in
                var r = r
                r.nodes = r.nodes.filter { names.contains($0.metadata["protocol"] ?? "mucp") }
                return r
            }
        }
    }

    /// Only the node with this id.
    public static func node(_ id: String) -> NodeFilter {
        NodeFilter { records in
            records.map { r in
                var r = r
                r.nodes = r.nodes.filter { $0.id == id }
                return r
            }
        }
    }
}
