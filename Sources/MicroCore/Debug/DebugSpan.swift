import Synchronization
import Tracing

/// A span of the ``DebugTracer``: it passes everything on to the bootstrapped tracer's span when there
/// is one, and on its first `end` keeps a ``SpanRecord`` of itself (except for the `Debug.*` endpoints' own calls).
public final class DebugSpan: Span {
    public let context: ServiceContext
    private let kind: SpanKind
    private let ids: TraceParent
    /// The parent span's id; zero for a root.
    private let parentID: UInt64
    private let start: UInt64
    private let recorder: DebugTracer
    private let inner: (any Tracing.Span)?
    /// Held inline: one allocation per span fewer than a boxed lock.
    private let state: Mutex<State>

    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var ended = false
    }

    init(name: String, kind: SpanKind, ids: TraceParent, parentID: UInt64, context: ServiceContext, start: UInt64,
         recorder: DebugTracer, inner: (any Tracing.Span)?) {
        self.kind = kind
        self.ids = ids
        self.parentID = parentID
        self.context = context
        self.start = start
        self.recorder = recorder
        self.inner = inner
        self.state = Mutex(State(name: name))
    }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set {
            state.withLock { $0.name = newValue }
            inner?.operationName = newValue
        }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set {
            state.withLock { $0.attributes = newValue }
            inner?.attributes = newValue
        }
    }

    public var isRecording: Bool { !state.withLock { $0.ended } }

    public func setStatus(_ status: SpanStatus) {
        state.withLock { $0.status = status }
        inner?.setStatus(status)
    }

    public func addEvent(_ event: SpanEvent) {
        inner?.addEvent(event)
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        inner?.recordError(error, attributes: attributes, at: instant())
    }

    public func addLink(_ link: SpanLink) {
        inner?.addLink(link)
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant()
        let finished = state.withLock { s -> State? in
            guard !s.ended else { return nil }
            s.ended = true
            return s
        }
        guard let finished else { return }
        inner?.end(at: end)
        // Asking a service for its debug state is not what its traces are for.
        guard !finished.name.utf8.starts(with: "Debug.".utf8) else { return }
        recorder.record(FinishedSpan(
            ids: ids, parent: parentID, name: finished.name, kind: kind, service: recorder.service, start: Int64(clamping: start),
            duration: Int64(clamping: end.nanosecondsSinceEpoch) - Int64(clamping: start), attributes: finished.attributes,
            status: finished.status))
    }
}
