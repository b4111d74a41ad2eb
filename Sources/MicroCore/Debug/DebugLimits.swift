/// The bounds of a service's debug buffers and answers: how many log records and spans it keeps and
/// how many bytes, how much one record may carry, and how many log streams it serves at once.
public struct DebugLimits: Sendable, Hashable {
    /// Log records kept (the oldest go first).
    public var logRecords: Int
    /// Bytes of log records kept (message, label, source and metadata, counted as UTF-8).
    public var logBytes: Int
    /// Bytes of one record's message or metadata value; longer ones are cut with `…`.
    public var maxFieldBytes: Int
    /// Metadata entries kept per log record, and attributes per span.
    public var maxEntries: Int
    /// Finished spans kept.
    public var spans: Int
    /// Records buffered for one `Debug.LogStream` reader; beyond it new records are dropped and counted.
    public var streamBuffer: Int
    /// `Debug.LogStream` readers served at once.
    public var maxStreams: Int

    /// Limits with the defaults: 1,000 records in at most 1 MiB, 1,000 spans, 4 KiB fields,
    /// 32 entries, 256 records per stream reader, 16 readers.
    public init(logRecords: Int = 1000, logBytes: Int = 1 << 20, maxFieldBytes: Int = 4096, maxEntries: Int = 32,
                spans: Int = 1000, streamBuffer: Int = 256, maxStreams: Int = 16) {
        self.logRecords = max(1, logRecords)
        self.logBytes = max(1, logBytes)
        self.maxFieldBytes = max(16, maxFieldBytes)
        self.maxEntries = max(0, maxEntries)
        self.spans = max(1, spans)
        self.streamBuffer = max(1, streamBuffer)
        self.maxStreams = max(0, maxStreams)
    }

    /// `text` cut to ``maxFieldBytes`` of UTF-8 at a character boundary, marked with `…` when cut.
    package func clip(_ text: String) -> String {
        guard text.utf8.count > maxFieldBytes else { return text }
        var cut = text.utf8.prefix(maxFieldBytes - 3)
        while !cut.isEmpty, String(cut) == nil { cut = cut.dropLast() }
        return (String(cut) ?? "") + "…"
    }
}
