/// Log records answered at once — `Debug.Log`'s answer and each message of `Debug.LogStream` — and how
/// many records the reader missed before them by falling behind (always 0 for `Debug.Log`).
public struct LogBatch: Codable, Sendable, Hashable {
    /// The records, oldest first.
    public var records: [LogRecord]
    /// Records dropped for this reader since its last batch.
    public var dropped: Int

    /// Creates a batch.
    public init(records: [LogRecord], dropped: Int = 0) {
        self.records = records
        self.dropped = dropped
    }
}
