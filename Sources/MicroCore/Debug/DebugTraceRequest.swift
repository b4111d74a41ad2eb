/// What `Debug.Trace` is asked: one trace's spans, or the most recent spans.
public struct DebugTraceRequest: Codable, Sendable, Hashable {
    /// A trace id (32 hex digits): only its spans. Nil: the newest spans of any trace.
    public var traceID: String?
    /// How many spans at most (default 100, capped at ``DebugLimits/spans``).
    public var count: Int?

    /// Creates a request.
    public init(traceID: String? = nil, count: Int? = nil) {
        self.traceID = traceID
        self.count = count
    }
}
