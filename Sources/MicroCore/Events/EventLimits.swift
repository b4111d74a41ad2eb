/// The largest event a backend accepts; a larger one fails with ``EventsError/Code/tooLarge`` and
/// stores nothing. The defaults fit a NATS server's default 1 MiB message with room for headers.
public struct EventLimits: Sendable, Hashable {
    /// The largest payload, in bytes (default 512 KiB).
    public var maxPayloadBytes: Int
    /// The largest metadata, counted as the UTF-8 bytes of every name and value (default 16 KiB).
    public var maxMetadataBytes: Int
    /// The longest id, in bytes (default 128).
    public var maxIDBytes: Int

    /// Limits; the defaults are 512 KiB of payload, 16 KiB of metadata and 128-byte ids.
    public init(maxPayloadBytes: Int = 512 << 10, maxMetadataBytes: Int = 16 << 10, maxIDBytes: Int = 128) {
        self.maxPayloadBytes = max(0, maxPayloadBytes)
        self.maxMetadataBytes = max(0, maxMetadataBytes)
        self.maxIDBytes = max(1, maxIDBytes)
    }

    /// Throws unless `event` may be published or written: a valid topic (``EventTopic``), an id of 1 to
    /// ``maxIDBytes`` bytes without control characters, metadata names that are not empty and metadata
    /// without NUL or line breaks, and sizes within these limits.
    public func validate(_ event: Event) throws {
        try EventTopic.validate(event.topic)
        let id = event.id.utf8
        guard !id.isEmpty else { throw EventsError(.invalidArgument, "an event id may not be empty") }
        guard id.count <= maxIDBytes else { throw EventsError(.tooLarge, "an event id of \(id.count) bytes, the limit is \(maxIDBytes)") }
        guard !id.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw EventsError(.invalidArgument, "event id \(String(event.id.prefix(40)).debugDescription) holds a control character")
        }
        var metadataBytes = 0
        for (name, value) in event.metadata {
            guard !name.isEmpty else { throw EventsError(.invalidArgument, "a metadata name may not be empty") }
            guard !name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }), !value.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) else {
                throw EventsError(.invalidArgument, "metadata \(String(name.prefix(40)).debugDescription) holds a NUL, a line break or a control character")
            }
            metadataBytes += name.utf8.count + value.utf8.count
        }
        guard metadataBytes <= maxMetadataBytes else {
            throw EventsError(.tooLarge, "metadata of \(metadataBytes) bytes, the limit is \(maxMetadataBytes)")
        }
        guard event.payload.count <= maxPayloadBytes else {
            throw EventsError(.tooLarge, "a payload of \(event.payload.count) bytes, the limit is \(maxPayloadBytes)")
        }
    }
}
