/// A lease granted by etcd.
public struct EtcdLease: Sendable, Hashable {
    /// The lease id.
    public var id: Int64
    /// The time to live etcd granted, in seconds (it may exceed the one asked for: etcd has a minimum).
    public var ttl: Int64

    /// Creates a lease value.
    public init(id: Int64, ttl: Int64) {
        self.id = id
        self.ttl = ttl
    }
}
