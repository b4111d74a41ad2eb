import NIOConcurrencyHelpers
import Tracing

/// A span of the ``DebugTracer``: it passes everything on to the bootstrapped tracer's span when there
/// is one, and on its first `end` keeps a ``SpanRecord`` of itself (except for the `Debug.*` endpoints' own calls).
public final class DebugSpan: Span {
    public let context: ServiceContext
    private let kind: SpanKind
    private let ids: TraceParent
    private let parentID: String?
    private let start: UInt64
    private let recorder: DebugTracer
    private let inner: (any Tracing.Span)?
    private let state: NIOLockedValueBox<State>

    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var ended = false
    }

    init(name: String, kind: SpanKind, ids: TraceParent, parentID: String?, context: ServiceContext, start: UInt64,
         recorder: DebugTracer, inner: (any Tracing.Span)?) {
        self.kind = kind
        self.ids = ids
        self.parentID = parentID
        self.context = context
        self.start = start
        self.recorder = recorder
        self.inner = inner
        self.state = NIOLockedValueBox(State(name: name))
    }

    public var operationName: String {
        get { state.withLockedValue { $0.name } }
        set {
            state.withLockedValue { $0.name = newValue }
            inner?.operationName = newValue
        }
    }

    public var attributes: SpanAttributes {
        get { state.withLockedValue { $0.attributes } }
        set {
            state.withLockedValue { $0.attributes = newValue }
            inner?.attributes = newValue
        }
    }

    public var isRecording: Bool { !state.withLockedValue { $0.ended } }

    public func setStatus(_ status: SpanStatus) {
        state.withLockedValue { $0.status = status }
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
        let finished = state.withLockedValue { s -> State? in
            guard !s.ended else { return nil }
            s.ended = true
            return s
        }
        guard let finished else { return }
        inner?.end(at: end)
        // Asking a service for its debug state is not what its traces are for.
        guard !finished.name.hasPrefix("Debug.") else { return }
        let limits = recorder.buffer.limits
        var attributes: [String: String] = [:]
        finished.attributes.forEach { key, value in
            if attributes.count < limits.maxEntries { attributes[limits.clip(key)] = limits.clip(Self.text(value)) }
        }
        let status: String
        switch finished.status?.code {
        case .ok: status = "ok"
        case .error: status = "error"
        default: status = "unset"
        }
        recorder.record(SpanRecord(
            traceID: ids.traceID, spanID: ids.spanID, parentID: parentID, name: limits.clip(finished.name), kind: Self.text(kind),
            service: recorder.service, start: Int64(clamping: start),
            duration: Int64(clamping: end.nanosecondsSinceEpoch) - Int64(clamping: start),
            attributes: attributes, status: status, statusMessage: finished.status?.message.map { limits.clip($0) }))
    }

    private static func text(_ kind: SpanKind) -> String {
        switch kind {
        case .server: "server"
        case .client: "client"
        case .producer: "producer"
        case .consumer: "consumer"
        default: "internal"
        }
    }

    private static func text(_ value: SpanAttribute) -> String {
        switch value {
        case .int32(let v): "\(v)"
        case .int64(let v): "\(v)"
        case .double(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .string(let v): v
        case .stringConvertible(let v): v.description
        default: "\(value)"
        }
    }
}
