/// A key and its value as etcd stores them, with the revisions that say when it was written.
public struct EtcdKeyValue: Sendable, Hashable {
    /// The key's bytes.
    public var key: [UInt8]
    /// The value's bytes (empty for a keys-only read).
    public var value: [UInt8]
    /// The revision of the key's last creation.
    public var createRevision: Int64
    /// The revision of the key's last modification.
    public var modRevision: Int64
    /// How often the key was written since its creation (1 right after it was created; 0 once deleted).
    public var version: Int64
    /// The lease the key is attached to (0: none).
    public var lease: Int64

    /// Creates a key-value.
    public init(key: [UInt8], value: [UInt8], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The key as text (invalid UTF-8 replaced).
    public var keyString: String { String(decoding: key, as: UTF8.self) }
    /// The value as text (invalid UTF-8 replaced).
    public var valueString: String { String(decoding: value, as: UTF8.self) }
}
