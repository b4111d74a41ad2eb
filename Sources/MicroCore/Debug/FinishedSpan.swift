import Tracing

/// A span as the debug tracer keeps it when it ends: its parts as they are, made into a ``SpanRecord``
/// (hex ids, attributes as text) only when `Debug.Trace` reads it, since most spans are never read.
/// ``SpanBuffer`` keeps one this way only when it ``fits(_:)`` the limits; any other is cut to them at once.
/// A value: the buffer writes it over the oldest one's slot, with no object made or freed per span
/// (a server span's name, service and attributes are the endpoint's own, shared by all its spans).
package struct FinishedSpan: Sendable {
    let ids: TraceParent
    /// The parent span's id; zero for a trace's root.
    let parent: UInt64
    let name: String
    let kind: SpanKind
    let service: String
    /// Nanoseconds since 1970.
    let start: Int64
    /// Nanoseconds.
    let duration: Int64
    let attributes: SpanAttributes
    let status: SpanStatus?

    init(ids: TraceParent, parent: UInt64, name: String, kind: SpanKind, service: String, start: Int64, duration: Int64,
         attributes: SpanAttributes, status: SpanStatus?) {
        self.ids = ids
        self.parent = parent
        self.name = name
        self.kind = kind
        self.service = service
        self.start = start
        self.duration = duration
        self.attributes = attributes
        self.status = status
    }

    /// Whether every part is within `limits` as it is: at most ``DebugLimits/maxEntries`` attributes, and
    /// the name, the status message and each attribute's name and value (numbers, booleans or strings)
    /// within ``DebugLimits/maxFieldBytes``.
    func fits(_ limits: DebugLimits) -> Bool {
        guard attributes.count <= limits.maxEntries, name.utf8.count <= limits.maxFieldBytes,
              (status?.message?.utf8.count ?? 0) <= limits.maxFieldBytes else { return false }
        var small = true
        attributes.forEach { key, value in
            guard small, key.utf8.count <= limits.maxFieldBytes else { small = false; return }
            switch value {
            case .int32, .int64, .double, .bool: break
            case .string(let text): small = text.utf8.count <= limits.maxFieldBytes
            default: small = false
            }
        }
        return small
    }

    /// The record `Debug.Trace` answers, cut to `limits`.
    func record(_ limits: DebugLimits) -> SpanRecord {
        var texts: [String: String] = [:]
        attributes.forEach { key, value in
            if texts.count < limits.maxEntries { texts[limits.clip(key)] = limits.clip(Self.text(value)) }
        }
        let statusText: String
        switch status?.code {
        case .ok: statusText = "ok"
        case .error: statusText = "error"
        default: statusText = "unset"
        }
        return SpanRecord(traceID: ids.traceID, spanID: ids.spanID, parentID: parent == 0 ? nil : TraceParent.spanID(parent),
                          name: limits.clip(name), kind: Self.text(kind), service: service, start: start, duration: duration,
                          attributes: texts, status: statusText, statusMessage: status?.message.map { limits.clip($0) })
    }

    /// Whether it belongs to the trace with these ids.
    func isIn(trace: (high: UInt64, low: UInt64)) -> Bool {
        ids.traceHigh == trace.high && ids.traceLow == trace.low
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
