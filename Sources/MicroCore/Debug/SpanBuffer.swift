import NIOConcurrencyHelpers

/// The last finished spans of a service, bounded by ``DebugLimits/spans``.
public final class SpanBuffer: Sendable {
    /// The bounds it keeps to.
    public let limits: DebugLimits
    private let state: NIOLockedValueBox<RingBuffer<SpanRecord>>

    /// An empty buffer.
    public init(limits: DebugLimits = DebugLimits()) {
        self.limits = limits
        self.state = NIOLockedValueBox(RingBuffer(capacity: limits.spans))
    }

    /// Keeps `span`, dropping the oldest when full.
    public func append(_ span: SpanRecord) {
        state.withLockedValue { _ = $0.append(span) }
    }

    /// The newest spans, oldest first: at most `count` (capped at ``DebugLimits/spans``), only trace
    /// `traceID`'s when given.
    public func spans(count: Int, traceID: String? = nil) -> [SpanRecord] {
        let limit = min(max(0, count), limits.spans)
        return state.withLockedValue { ring in ring.suffix(limit) { traceID == nil || $0.traceID == traceID } }
    }

    /// How many spans it holds.
    public var count: Int { state.withLockedValue { $0.count } }
}
