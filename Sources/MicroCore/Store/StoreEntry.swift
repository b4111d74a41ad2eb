import Foundation

/// A record whose value was decoded as `Value`: what ``Store/entry(_:as:)`` returns, with the revision
/// a read-modify-write passes back as ``StoreCondition/ifRevision(_:)``.
public struct StoreEntry<Value: Sendable>: Sendable {
    /// The key.
    public var key: String
    /// The decoded value.
    public var value: Value
    /// The record's metadata.
    public var metadata: [String: String]
    /// When the record expires; nil never.
    public var expiry: Date?
    /// The record's revision.
    public var revision: UInt64

    /// An entry.
    public init(key: String, value: Value, metadata: [String: String] = [:], expiry: Date? = nil, revision: UInt64) {
        self.key = key
        self.value = value
        self.metadata = metadata
        self.expiry = expiry
        self.revision = revision
    }
}
