/// What `Debug.Log` and `Debug.LogStream` are asked: how many of the last records, since when, from
/// which level. Every field may be left out (`{}`): the last 100 records of any level.
public struct DebugLogRequest: Codable, Sendable, Hashable {
    /// How many of the newest records (default 100, capped at ``DebugLimits/logRecords``; for a stream,
    /// the backlog sent before new records, default 0).
    public var count: Int?
    /// Only records logged at or after this time, in nanoseconds since 1970.
    public var since: Int64?
    /// The least level (`trace` … `critical`, or `warn`).
    public var level: String?

    /// Creates a request.
    public init(count: Int? = nil, since: Int64? = nil, level: String? = nil) {
        self.count = count
        self.since = since
        self.level = level
    }
}
