import Instrumentation
import Tracing

/// A swift-distributed-tracing tracer that keeps every finished span in a ``SpanBuffer`` for
/// `Debug.Trace`. When the executable bootstrapped a tracer (swift-otel, say), spans are that tracer's
/// and are kept as well; otherwise it makes its own with W3C ids and sends them as `traceparent`.
public struct DebugTracer: Tracer {
    /// Where finished spans are kept.
    public let buffer: SpanBuffer
    /// The service named in the records.
    public let service: String
    private let upstream: (any Tracer)?

    /// A tracer keeping spans of `service` in `buffer`, on top of `upstream` — by default the tracer
    /// `InstrumentationSystem` has at the time of each span (none: this tracer's own ids).
    public init(service: String, buffer: SpanBuffer, upstream: (any Tracer)? = nil) {
        self.service = service
        self.buffer = buffer
        self.upstream = upstream
    }

    /// The tracer spans come from: the given one, the bootstrapped one, or nil for this tracer's own.
    package var base: (any Tracer)? {
        if let upstream { return upstream }
        // Nothing bootstrapped or bound (the usual case) shows in the instrument's type, without the
        // search (locks and casts) `InstrumentationSystem.tracer` makes.
        if InstrumentationSystem.instrument is NoOpInstrument { return nil }
        let bootstrapped = InstrumentationSystem.tracer
        return bootstrapped is NoOpTracer ? nil : bootstrapped
    }

    /// This tracer with `base` as its upstream for good, so a span does not look for the bootstrapped one again.
    package func over(_ base: any Tracer) -> DebugTracer {
        DebugTracer(service: service, buffer: buffer, upstream: base)
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> DebugSpan {
        let parentContext = context()
        let start = instant()
        if let base {
            let inner: any Tracing.Span = base.startSpan(operationName, context: parentContext, ofKind: kind, at: start,
                                                 function: function, file: fileID, line: line)
            let ids = Self.traceParent(of: inner.context, tracer: base) ?? TraceParent(traceHigh: 0, traceLow: 0, span: 0)
            let parent = Self.traceParent(of: parentContext, tracer: base)
            return DebugSpan(name: operationName, kind: kind, ids: ids, parentID: parent?.span ?? 0, context: inner.context,
                             start: start.nanosecondsSinceEpoch, recorder: self, inner: inner)
        }
        let parent = parentContext.traceParent
        let (ids, spanContext) = Self.ownSpan(under: parent, in: parentContext)
        return DebugSpan(name: operationName, kind: kind, ids: ids, parentID: parent?.span ?? 0, context: spanContext,
                         start: start.nanosecondsSinceEpoch, recorder: self, inner: nil)
    }

    /// A new span of this tracer's own ids, a child of `parent` (a new root when none) and sampled, with
    /// `context` holding its ids in place of the parent's.
    static func ownSpan(under parent: TraceParent?, in context: ServiceContext) -> (ids: TraceParent, context: ServiceContext) {
        var ids = parent?.child() ?? .root()
        ids.flags |= 1
        var context = context
        context.traceParent = ids
        return (ids, context)
    }

    /// Nothing to flush here: the bootstrapped tracer is flushed by whoever bootstrapped it.
    public func forceFlush() {}

    public func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        if let base { return base.inject(context, into: &carrier, using: injector) }
        if let ids = context.traceParent { injector.inject(ids.header, forKey: TraceParent.headerName, into: &carrier) }
    }

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        if let base { return base.extract(carrier, into: &context, using: extractor) }
        if let header = extractor.extract(key: TraceParent.headerName, from: carrier), let ids = TraceParent(header: header) {
            context.traceParent = ids
        }
    }

    /// Keeps a finished span.
    func record(_ span: FinishedSpan) {
        buffer.append(span)
    }

    /// The W3C ids another tracer gives `context`, read back through its own propagation.
    private static func traceParent(of context: ServiceContext, tracer: any Tracer) -> TraceParent? {
        var headers: [String: String] = [:]
        tracer.inject(context, into: &headers, using: HeaderInjector())
        return headers["traceparent"].flatMap { TraceParent(header: $0) }
    }
}
