import Synchronization
import Tracing

/// A W3C `traceparent` (`00-<trace id>-<span id>-<flags>`): what the debug tracer sends with a call and
/// reads from one. Parsing is strict; anything else is no parent. The ids are kept as numbers and
/// written as hex only when asked (a header sent, a span read), since most spans are never read.
package struct TraceParent: Sendable, Hashable {
    /// The trace id's high and low 64 bits; both zero: none known.
    package var traceHigh: UInt64
    package var traceLow: UInt64
    /// The span id; zero: none known.
    package var span: UInt64
    /// The flags byte (bit 0: sampled).
    package var flags: UInt8

    package init(traceHigh: UInt64, traceLow: UInt64, span: UInt64, flags: UInt8 = 1) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.span = span
        self.flags = flags
    }

    /// The header (and metadata key) that carries it.
    package static let headerName = "traceparent"

    /// A new root: random trace and span ids.
    package static func root() -> TraceParent {
        let n = IDSource.reserve(3)
        return TraceParent(traceHigh: IDSource.id(n), traceLow: IDSource.id(n &+ 1), span: IDSource.id(n &+ 2))
    }

    /// A new span id in this trace, with its flags.
    package func child() -> TraceParent {
        TraceParent(traceHigh: traceHigh, traceLow: traceLow, span: IDSource.next(), flags: flags)
    }

    /// The trace id, 32 lowercase hex digits ("" when none is known).
    package var traceID: String {
        traceHigh == 0 && traceLow == 0 ? "" : Self.hex(traceHigh, traceLow)
    }

    /// The span id, 16 lowercase hex digits ("" when none is known).
    package var spanID: String {
        Self.spanID(span)
    }

    /// A span id as 16 lowercase hex digits ("" for zero, none known).
    package static func spanID(_ span: UInt64) -> String {
        span == 0 ? "" : hex(span)
    }

    /// The header's value.
    package var header: String {
        "00-\(traceID)-\(spanID)-\(Self.hexDigit(flags >> 4))\(Self.hexDigit(flags & 0xF))"
    }

    /// Parses a header's value; nil unless it is version 00 (or a later one, read as 00) with valid ids.
    package init?(header: String) {
        let utf8 = Array(header.utf8)
        guard utf8.count == 55 || (utf8.count > 55 && utf8[55] == UInt8(ascii: "-")),
              utf8[2] == UInt8(ascii: "-"), utf8[35] == UInt8(ascii: "-"), utf8[52] == UInt8(ascii: "-"),
              !(utf8[0] == UInt8(ascii: "f") && utf8[1] == UInt8(ascii: "f")),
              let version = Self.number(utf8[0..<2]), let high = Self.number(utf8[3..<19]), let low = Self.number(utf8[19..<35]),
              let span = Self.number(utf8[36..<52]), let flags = Self.number(utf8[53..<55]) else { return nil }
        if version == 0, utf8.count != 55 { return nil }
        guard high != 0 || low != 0, span != 0 else { return nil }
        self.init(traceHigh: high, traceLow: low, span: span, flags: UInt8(flags))
    }

    /// Parses a trace id (32 lowercase hex digits) into its two halves.
    package static func traceNumbers(_ id: String) -> (high: UInt64, low: UInt64)? {
        let utf8 = Array(id.utf8)
        guard utf8.count == 32, let high = number(utf8[0..<16]), let low = number(utf8[16..<32]) else { return nil }
        return (high, low)
    }

    /// The value of lowercase hex digits (at most 16); nil if any is not one.
    private static func number(_ digits: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for c in digits {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | UInt64(c - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        return value
    }

    private static func hexDigit(_ nibble: UInt8) -> Character {
        Character(Unicode.Scalar(nibble < 10 ? nibble + 48 : nibble + 87))
    }

    /// `first` (and `second`) as 16 lowercase hex digits each.
    private static func hex(_ first: UInt64, _ second: UInt64? = nil) -> String {
        String(unsafeUninitializedCapacity: second == nil ? 16 : 32) { buffer in
            write(first, into: buffer, at: 0)
            guard let second else { return 16 }
            write(second, into: buffer, at: 16)
            return 32
        }
    }

    private static func write(_ word: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        for i in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * i)) & 0xF
            buffer[offset + i] = nibble < 10 ? nibble + 48 : nibble + 87
        }
    }
}

/// Where span and trace ids come from: splitmix64 over a counter from a random start, so ids are
/// unique in a process, unpredictable across processes, never zero, and cost no system call (the
/// system's generator reads the kernel's on every call). A root takes its three ids with one atomic add.
private enum IDSource {
    static let start = UInt64.random(in: 0...UInt64.max)
    static let counter = Atomic<UInt64>(0)

    /// The first of `count` consecutive counter values, each giving one ``id(_:)``.
    static func reserve(_ count: UInt64) -> UInt64 {
        counter.wrappingAdd(count, ordering: .relaxed).oldValue
    }

    static func next() -> UInt64 {
        id(reserve(1))
    }

    /// The id of counter value `n`. The mix is a bijection, so one value in 2⁶⁴ gives zero: that one
    /// takes the id of a value half the counter's range away, which no process reaches.
    static func id(_ n: UInt64) -> UInt64 {
        let z = mix(start &+ n &* 0x9E37_79B9_7F4A_7C15)
        return z != 0 ? z : mix(start &+ (n ^ (1 << 63)) &* 0x9E37_79B9_7F4A_7C15)
    }

    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Where the debug tracer keeps the current span's trace and span ids in a `ServiceContext`: three
/// words, which a context holds in place (a ``TraceParent`` with its flags byte is one byte more than
/// that, so every span's context would box it on the heap).
package enum TraceParentKey: ServiceContextKey {
    package typealias Value = TraceIDs
    package static var nameOverride: String? { "traceparent" }
}

/// The trace flags beside ``TraceParentKey``'s ids, kept only when they are not the usual `01` (sampled).
package enum TraceFlagsKey: ServiceContextKey {
    package typealias Value = UInt8
    package static var nameOverride: String? { "traceflags" }
}

/// A ``TraceParent`` without its flags, as a `ServiceContext` keeps it.
package struct TraceIDs: Sendable {
    let traceHigh: UInt64
    let traceLow: UInt64
    let span: UInt64
}

extension ServiceContext {
    /// The debug tracer's current span (or remote parent), if any.
    package var traceParent: TraceParent? {
        get {
            guard let ids = self[TraceParentKey.self] else { return nil }
            return TraceParent(traceHigh: ids.traceHigh, traceLow: ids.traceLow, span: ids.span, flags: self[TraceFlagsKey.self] ?? 1)
        }
        set {
            if let newValue {
                self[TraceParentKey.self] = TraceIDs(traceHigh: newValue.traceHigh, traceLow: newValue.traceLow, span: newValue.span)
            } else if self[TraceParentKey.self] != nil {
                self[TraceParentKey.self] = nil
            }
            if let flags = newValue?.flags, flags != 1 {
                self[TraceFlagsKey.self] = flags
            } else if !isEmpty, count > (newValue == nil ? 0 : 1), self[TraceFlagsKey.self] != nil {
                // Only when there may be flags to drop: setting an absent key to nil still copies the storage.
                self[TraceFlagsKey.self] = nil
            }
        }
    }
}
