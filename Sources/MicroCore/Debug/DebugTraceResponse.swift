/// `Debug.Trace`'s answer: finished spans, oldest first.
public struct DebugTraceResponse: Codable, Sendable, Hashable {
    /// The spans.
    public var spans: [SpanRecord]

    /// Creates a response.
    public init(spans: [SpanRecord]) {
        self.spans = spans
    }
}
