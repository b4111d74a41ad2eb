import Tracing

/// A W3C `traceparent` (`00-<trace id>-<span id>-<flags>`): what the debug tracer sends with a call and
/// reads from one. Parsing is strict; anything else is no parent.
package struct TraceParent: Sendable, Hashable {
    /// 32 lowercase hex digits, not all zero.
    package var traceID: String
    /// 16 lowercase hex digits, not all zero.
    package var spanID: String
    /// The flags byte (bit 0: sampled).
    package var flags: UInt8

    package init(traceID: String, spanID: String, flags: UInt8 = 1) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// A new root: random trace and span ids.
    package static func root() -> TraceParent {
        TraceParent(traceID: hex(UInt64.random(in: 1...UInt64.max)) + hex(UInt64.random(in: 0...UInt64.max)), spanID: newSpanID())
    }

    /// A random span id.
    package static func newSpanID() -> String { hex(UInt64.random(in: 1...UInt64.max)) }

    /// The header's value.
    package var header: String {
        let f = String(flags, radix: 16)
        return "00-\(traceID)-\(spanID)-\(f.count == 1 ? "0" + f : f)"
    }

    /// Parses a header's value; nil unless it is version 00 (or a later one, read as 00) with valid ids.
    package init?(header: String) {
        let utf8 = Array(header.utf8)
        guard utf8.count == 55 || (utf8.count > 55 && utf8[55] == UInt8(ascii: "-")),
              utf8[2] == UInt8(ascii: "-"), utf8[35] == UInt8(ascii: "-"), utf8[52] == UInt8(ascii: "-"),
              utf8[0..<55].allSatisfy({ $0 == UInt8(ascii: "-") || Self.isHex($0) }),
              !(utf8[0] == UInt8(ascii: "f") && utf8[1] == UInt8(ascii: "f")) else { return nil }
        let version = String(decoding: utf8[0..<2], as: UTF8.self)
        if version == "00", utf8.count != 55 { return nil }
        let trace = String(decoding: utf8[3..<35], as: UTF8.self)
        let span = String(decoding: utf8[36..<52], as: UTF8.self)
        guard trace.contains(where: { $0 != "0" }), span.contains(where: { $0 != "0" }),
              let flags = UInt8(String(decoding: utf8[53..<55], as: UTF8.self), radix: 16) else { return nil }
        self.init(traceID: trace, spanID: span, flags: flags)
    }

    private static func isHex(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
    }

    private static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Where the debug tracer keeps the current span's ids in a `ServiceContext`.
package enum TraceParentKey: ServiceContextKey {
    package typealias Value = TraceParent
    package static var nameOverride: String? { "traceparent" }
}

extension ServiceContext {
    /// The debug tracer's current span (or remote parent), if any.
    package var traceParent: TraceParent? {
        get { self[TraceParentKey.self] }
        set { self[TraceParentKey.self] = newValue }
    }
}
