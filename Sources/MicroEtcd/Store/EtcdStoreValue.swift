import MicroCore

/// How an ``EtcdStore`` keeps a record in an etcd value: a small binary envelope around the value
/// bytes, holding the metadata and the expiry (etcd keeps the key and the revision itself).
///
/// Layout (integers big-endian): the 4 bytes `MST` 0x01 (magic and version), one flags byte (bit 0:
/// an expiry follows; the other bits must be 0), the expiry as 8 bytes of milliseconds since 1970 when
/// flagged, the metadata's length as 4 bytes, the metadata (the sorted JSON object of
/// `StoreMetadataCoding`), then the value up to the end. Decoding checks every length against the bytes
/// left and throws ``StoreError/Code/malformed`` for anything else: what etcd holds is untrusted.
package struct EtcdStoreValue: Sendable, Hashable {
    /// The value bytes.
    package var value: [UInt8]
    /// The metadata.
    package var metadata: [String: String]
    /// The expiry in milliseconds since 1970; nil never.
    package var expiry: Int64?

    /// The magic and version every envelope starts with.
    static let magic: [UInt8] = [UInt8(ascii: "M"), UInt8(ascii: "S"), UInt8(ascii: "T"), 1]
    private static let hasExpiry: UInt8 = 1

    /// A value to encode.
    package init(value: [UInt8], metadata: [String: String], expiry: Int64?) {
        self.value = value
        self.metadata = metadata
        self.expiry = expiry
    }

    /// Whether the record is live at `now` (milliseconds since 1970).
    package func isLive(at now: Int64) -> Bool {
        guard let expiry else { return true }
        return expiry > now
    }

    /// The envelope's bytes.
    package func encoded() -> [UInt8] {
        let metadataJSON = metadata.isEmpty ? [] : Array(StoreMetadataCoding.encode(metadata).utf8)
        var out = Self.magic
        out.reserveCapacity(4 + 1 + 8 + 4 + metadataJSON.count + value.count)
        out.append(expiry == nil ? 0 : Self.hasExpiry)
        if let expiry { Self.append(UInt64(bitPattern: expiry), bytes: 8, to: &out) }
        Self.append(UInt64(metadataJSON.count), bytes: 4, to: &out)
        out += metadataJSON
        out += value
        return out
    }

    /// The record in `bytes` (read from etcd under `key`); throws ``StoreError/Code/malformed`` naming the key.
    package static func decode(_ bytes: [UInt8], key: String) throws -> EtcdStoreValue {
        func malformed(_ why: String) -> StoreError {
            StoreError(.malformed, "the etcd value of '\(EtcdStoreKeyspace.printable(key))' is not a store record: \(why)")
        }
        guard bytes.count >= magic.count + 1 + 4, bytes.starts(with: magic) else {
            throw malformed(bytes.starts(with: magic.prefix(3)) ? "unknown version \(bytes.count > 3 ? bytes[3] : 0)" : "no envelope")
        }
        var index = magic.count
        let flags = bytes[index]
        index += 1
        guard flags & ~hasExpiry == 0 else { throw malformed("unknown flags \(flags)") }
        var expiry: Int64?
        if flags & hasExpiry != 0 {
            guard bytes.count - index >= 8 + 4 else { throw malformed("truncated expiry") }
            expiry = Int64(bitPattern: read(bytes, at: index, count: 8))
            index += 8
        }
        let metadataLength = read(bytes, at: index, count: 4)
        index += 4
        guard metadataLength <= UInt64(bytes.count - index) else {
            throw malformed("metadata of \(metadataLength) bytes with \(bytes.count - index) left")
        }
        let metadataEnd = index + Int(metadataLength)
        var metadata: [String: String] = [:]
        if metadataLength > 0 {
            metadata = try StoreMetadataCoding.decode(Array(bytes[index..<metadataEnd]), key: key)
        }
        return EtcdStoreValue(value: Array(bytes[metadataEnd...]), metadata: metadata, expiry: expiry)
    }

    private static func append(_ number: UInt64, bytes: Int, to out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: number >> UInt64(shift))) }
    }

    private static func read(_ bytes: [UInt8], at index: Int, count: Int) -> UInt64 {
        var number: UInt64 = 0
        for b in bytes[index..<(index + count)] { number = number << 8 | UInt64(b) }
        return number
    }
}
