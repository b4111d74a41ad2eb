/// How an ``EtcdRegistry`` keeps its registrations and reads the registry.
public struct EtcdRegistryConfiguration: Sendable {
    /// How a registration's lease is kept alive.
    public enum LeaseRenewal: Sendable, Hashable {
        /// Each register call refreshes the lease (over the client's shared keep-alive stream), so a
        /// node lives `ttl` past its last registration: the `Registry` contract, which a
        /// service's re-register interval (heartbeat) fulfils.
        case onRegister
        /// The client keeps the lease alive from registration until deregistration or shutdown
        /// (go-micro's etcd registry since v5); the TTL only matters once the process is gone. A lease
        /// etcd reports lost is granted again and the node re-registered at once.
        case continuous
    }

    /// How leases are kept alive; ``LeaseRenewal/onRegister`` by default.
    public var leaseRenewal: LeaseRenewal = .onRegister
    /// Reads (get, list, the start of a watch) are served by the member in use without the leader, as
    /// go-micro does: they keep working while the cluster elects a leader, possibly a moment behind.
    public var serializableReads = true
    /// Values under the registry prefix larger than this are skipped (and logged).
    public var maxValueBytes = 1024 * 1024
    /// Events a registry watch buffers for a slow consumer (the newest are kept).
    public var watchBufferLimit = 4096

    /// The defaults.
    public init() {}
}
