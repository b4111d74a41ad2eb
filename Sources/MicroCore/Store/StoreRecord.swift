import Foundation

/// One record of a store: a key, value bytes, metadata, an optional expiry and the revision the store
/// gave it.
public struct StoreRecord: Sendable, Hashable {
    /// The key, unique in its ``StoreScope`` (compared as UTF-8 bytes, see ``StoreKey``).
    public var key: String
    /// The value.
    public var value: [UInt8]
    /// String metadata kept with the value.
    public var metadata: [String: String]
    /// When the record expires (wall time, whole milliseconds); nil never. An expired record is never
    /// returned or listed.
    public var expiry: Date?
    /// The store's revision of this record: positive, higher on every write of the key, and never
    /// reused for the key in its scope (not after a delete either), so a stale
    /// ``StoreCondition/ifRevision(_:)`` cannot match a newer record.
    public var revision: UInt64

    /// A record.
    public init(key: String, value: [UInt8], metadata: [String: String] = [:], expiry: Date? = nil, revision: UInt64) {
        self.key = key
        self.value = value
        self.metadata = metadata
        self.expiry = expiry
        self.revision = revision
    }
}
