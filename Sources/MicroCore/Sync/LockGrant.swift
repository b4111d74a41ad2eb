/// One acquisition as the engine granted it: what ``Sync/acquire(_:holder:ttl:)`` returns and
/// ``Sync/renew(_:)`` updates. ``LockLease`` keeps the latest.
public struct LockGrant: Sendable, Hashable {
    /// The lock's key (`lock/<name>` or `leader/<name>`).
    public var key: String
    /// The holder's identity.
    public var holder: String
    /// The acquisition's token.
    public var token: FencingToken
    /// The TTL asked for.
    public var ttl: Duration
    /// The engine's own reference to the grant (an etcd lease id, the lock record's current revision).
    public var handle: UInt64

    /// A grant.
    public init(key: String, holder: String, token: FencingToken, ttl: Duration, handle: UInt64) {
        self.key = key
        self.holder = holder
        self.token = token
        self.ttl = ttl
        self.handle = handle
    }
}
