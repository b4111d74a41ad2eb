/// The answer to a range read.
public struct EtcdRangeResult: Sendable, Hashable {
    /// The store revision the read saw.
    public var revision: Int64
    /// The keys found, in key order.
    public var kvs: [EtcdKeyValue]
    /// Whether more keys matched than the limit let through.
    public var more: Bool
    /// How many keys matched in all.
    public var count: Int64

    /// Creates a result.
    public init(revision: Int64, kvs: [EtcdKeyValue], more: Bool = false, count: Int64 = 0) {
        self.revision = revision
        self.kvs = kvs
        self.more = more
        self.count = count
    }
}
