/// A change a watch saw.
public struct EtcdEvent: Sendable, Hashable {
    /// A put or a delete (a lease's expiry deletes its keys).
    public enum Kind: Sendable, Hashable { case put, delete }

    /// What happened.
    public var kind: Kind
    /// The key-value after a put; for a delete the key, with ``EtcdKeyValue/modRevision`` the
    /// revision of the delete and no value.
    public var kv: EtcdKeyValue
    /// The key-value before the change, when the watch asked for it and history still had it.
    public var previous: EtcdKeyValue?

    /// Creates an event.
    public init(kind: Kind, kv: EtcdKeyValue, previous: EtcdKeyValue? = nil) {
        self.kind = kind
        self.kv = kv
        self.previous = previous
    }

    /// Whether a put created the key (rather than changing it).
    public var isCreate: Bool { kind == .put && kv.version == 1 }
}
