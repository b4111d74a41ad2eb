import MicroCore
import NATSClient

/// How a ``NATSStore`` names its buckets, sizes its records and waits for JetStream.
public struct NATSStoreConfiguration: Sendable {
    /// What every bucket name starts with, before `_<database>_T_<table>` (default `micro`; `[A-Za-z0-9_-]`).
    public var bucketPrefix: String
    /// The largest value and metadata a write may carry. NATS refuses a message over the server's
    /// `max_payload` (1 MiB by default), value and headers together, and JetStream refuses headers over
    /// 64 KiB; so the defaults are 960 KiB of value and 32 KiB of metadata, and a write within them
    /// that still exceeds a server limit (metadata of many control characters, escaped six-fold in its
    /// header, say) fails with ``MicroCore/StoreError/Code/tooLarge`` too.
    public var limits: StoreLimits
    /// Where buckets keep their records (default on disk).
    public var storage: JetStream.StorageType
    /// How many copies of a bucket a cluster keeps.
    public var replicas: Int
    /// Whether reads by key use direct gets (`DIRECT.GET`, answered by any server holding the bucket)
    /// rather than the stream leader's `STREAM.MSG.GET` (default false: the leader's answer includes
    /// every acknowledged write, and a bucket deleted from outside answers at once rather than after
    /// the timeout, as nats-server 2.9 does for direct gets).
    public var directGets: Bool
    /// How long one JetStream request waits (default 5 s): a server that does not answer within it
    /// makes the operation fail with ``MicroCore/StoreError/Code/unavailable``.
    public var timeout: Duration

    /// A configuration; the defaults suit a default `nats-server -js`.
    public init(bucketPrefix: String = "micro", limits: StoreLimits = StoreLimits(maxValueBytes: 960 << 10, maxMetadataBytes: 32 << 10),
                storage: JetStream.StorageType = .file, replicas: Int = 1, directGets: Bool = false, timeout: Duration = .seconds(5)) {
        self.bucketPrefix = bucketPrefix
        self.limits = limits
        self.storage = storage
        self.replicas = max(1, replicas)
        self.directGets = directGets
        self.timeout = timeout
    }
}
