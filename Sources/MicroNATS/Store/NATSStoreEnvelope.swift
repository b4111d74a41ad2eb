import MicroCore
import NATSClient

/// How a ``NATSStore`` keeps a record in a key-value message: the value is the message's payload, as
/// it is (so other NATS clients read the same bytes); the metadata and expiry are headers:
/// `Micro-Store: 1` (the format's version), `Micro-Expires: <milliseconds since 1970>` when the record
/// has a TTL, and `Micro-Metadata: <JSON object of strings, keys sorted>` when it has metadata.
///
/// A message without these headers (put by another client) is a record without metadata or expiry.
/// What the bucket holds is untrusted: another version, a repeated header, an expiry that is not a
/// decimal number or metadata that is not a JSON object of strings is ``MicroCore/StoreError/Code/malformed``.
package struct NATSStoreEnvelope: Sendable, Hashable {
    static let versionHeader = "Micro-Store"
    static let expiresHeader = "Micro-Expires"
    static let metadataHeader = "Micro-Metadata"

    /// The metadata.
    package var metadata: [String: String]
    /// The expiry in milliseconds since 1970; nil never.
    package var expiry: Int64?

    package init(metadata: [String: String], expiry: Int64?) {
        self.metadata = metadata
        self.expiry = expiry
    }

    /// Whether the record is live at `now` (milliseconds since 1970).
    package func isLive(at now: Int64) -> Bool {
        guard let expiry else { return true }
        return expiry > now
    }

    /// The headers of a record with this metadata and expiry.
    package var headers: NATSHeaders {
        var headers = NATSHeaders()
        headers[Self.versionHeader] = "1"
        if let expiry { headers[Self.expiresHeader] = String(expiry) }
        if !metadata.isEmpty { headers[Self.metadataHeader] = StoreMetadataCoding.encode(metadata) }
        return headers
    }

    /// The envelope in `headers` of the message under `key`; throws ``MicroCore/StoreError/Code/malformed``.
    package static func decode(_ headers: NATSHeaders?, key: String) throws -> NATSStoreEnvelope {
        guard let headers else { return NATSStoreEnvelope(metadata: [:], expiry: nil) }
        func malformed(_ why: String) -> StoreError {
            StoreError(.malformed, "the message of '\(StoreKey.printable(key))' is not a store record: \(why)")
        }
        func single(_ name: String) throws -> String? {
            let values = headers.values(for: name)
            guard values.count <= 1 else { throw malformed("\(values.count) \(name) headers") }
            return values.first
        }
        if let version = try single(versionHeader), version != "1" {
            throw malformed("version \(StoreKey.printable(version))")
        }
        var expiry: Int64?
        if let text = try single(expiresHeader) {
            guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let ms = Int64(text) else {
                throw malformed("expiry '\(StoreKey.printable(text))'")
            }
            expiry = ms
        }
        var metadata: [String: String] = [:]
        if let json = try single(metadataHeader) {
            metadata = try StoreMetadataCoding.decode(Array(json.utf8), key: key)
        }
        return NATSStoreEnvelope(metadata: metadata, expiry: expiry)
    }
}
