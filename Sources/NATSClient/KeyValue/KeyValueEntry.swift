import Foundation
import NIOCore

/// One value (or delete marker) of a key in a bucket.
public struct KeyValueEntry: Sendable {
    /// The bucket.
    public var bucket: String
    /// The key.
    public var key: String
    /// The value (empty for delete and purge markers).
    public var value: ByteBuffer
    /// The revision: the message's sequence in the bucket's stream, which only grows.
    public var revision: UInt64
    /// When it was stored.
    public var created: Date?
    /// How many newer messages a watch still had to deliver after this one (0 from a get).
    public var delta: UInt64
    /// Put, delete or purge.
    public var operation: KeyValueOperation
    /// The message's headers (with `KV-Operation` for markers).
    public var headers: NATSHeaders?

    /// An entry.
    public init(bucket: String, key: String, value: ByteBuffer, revision: UInt64, created: Date? = nil, delta: UInt64 = 0,
                operation: KeyValueOperation = .put, headers: NATSHeaders? = nil) {
        self.bucket = bucket
        self.key = key
        self.value = value
        self.revision = revision
        self.created = created
        self.delta = delta
        self.operation = operation
        self.headers = headers
    }

    /// The value's bytes.
    public var bytes: [UInt8] { Array(value.readableBytesView) }

    /// The operation a message's `KV-Operation` header names (a put without one).
    static func operation(_ headers: NATSHeaders?) -> KeyValueOperation {
        switch headers?[KeyValue.operationHeader] {
        case "DEL": .delete
        case "PURGE": .purge
        default: .put
        }
    }
}
