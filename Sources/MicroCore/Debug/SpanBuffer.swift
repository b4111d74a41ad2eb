import NIOConcurrencyHelpers

/// The last finished spans of a service, bounded by ``DebugLimits/spans``. The debug tracer's spans are
/// kept as they ended and made into ``SpanRecord``s when read.
public final class SpanBuffer: Sendable {
    /// The bounds it keeps to.
    public let limits: DebugLimits
    private let state: NIOLockedValueBox<RingBuffer<Entry>>

    private enum Entry: Sendable {
        case finished(FinishedSpan)
        case record(SpanRecord)
    }

    /// An empty buffer.
    public init(limits: DebugLimits = DebugLimits()) {
        self.limits = limits
        self.state = NIOLockedValueBox(RingBuffer(capacity: limits.spans))
    }

    /// Keeps `span`, dropping the oldest when full.
    public func append(_ span: SpanRecord) {
        append(.record(span))
    }

    /// Keeps `span` (cut to the limits now unless it fits them), dropping the oldest when full.
    package func append(_ span: FinishedSpan) {
        append(span.fits(limits) ? .finished(span) : .record(span.record(limits)))
    }

    /// Keeps `span`, which the caller checked ``FinishedSpan/fits(_:)`` these ``limits`` (a server
    /// span with its endpoint's own name and attributes, checked once for the endpoint).
    package func append(fitting span: FinishedSpan) {
        append(.finished(span))
    }

    private func append(_ entry: Entry) {
        // Written over the oldest entry's slot; what it held is released after the lock.
        let dropped = state.withLockedValue { $0.append(entry) }
        _ = dropped
    }

    /// The newest spans, oldest first: at most `count` (capped at ``DebugLimits/spans``), only trace
    /// `traceID`'s when given.
    public func spans(count: Int, traceID: String? = nil) -> [SpanRecord] {
        let limit = min(max(0, count), limits.spans)
        let numbers = traceID.flatMap(TraceParent.traceNumbers)
        let picked = state.withLockedValue { ring in
            ring.suffix(limit) { entry in
                guard let traceID else { return true }
                switch entry {
                case .finished(let span): return numbers.map(span.isIn(trace:)) ?? false
                case .record(let record): return record.traceID == traceID
                }
            }
        }
        return picked.map { entry in
            switch entry {
            case .finished(let span): span.record(limits)
            case .record(let record): record
            }
        }
    }

    /// How many spans it holds.
    public var count: Int { state.withLockedValue { $0.count } }
}
