/// One log record as a service's debug buffer keeps it and `Debug.Log` answers it (go-micro's
/// `debug.Record`, with swift-log's level, label and source).
public struct LogRecord: Codable, Sendable, Hashable {
    /// When it was logged, in nanoseconds since 1970 (UTC).
    public var time: Int64
    /// swift-log's level name: `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`.
    public var level: String
    /// The logger's label.
    public var label: String
    /// The message, cut to ``DebugLimits/maxFieldBytes``.
    public var message: String
    /// The logger's and the call's metadata, rendered as text.
    public var metadata: [String: String]
    /// The module that logged it.
    public var source: String

    /// Creates a record.
    public init(time: Int64, level: String, label: String, message: String, metadata: [String: String] = [:], source: String = "") {
        self.time = time
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
        self.source = source
    }

    /// What the record counts for against ``DebugLimits/logBytes``: its text as UTF-8 plus a fixed 64 per record.
    public var byteCount: Int {
        64 + level.utf8.count + label.utf8.count + message.utf8.count + source.utf8.count
            + metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
    }
}
