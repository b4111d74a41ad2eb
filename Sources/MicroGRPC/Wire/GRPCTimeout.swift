import NIOCore

/// gRPC's `grpc-timeout` header: at most 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`).
enum GRPCTimeout {
    /// The deadline a `grpc-timeout` value sets from now; nil for a malformed value.
    static func deadline(_ value: String, now: NIODeadline = .now()) -> NIODeadline? {
        guard let nanos = nanoseconds(value) else { return nil }
        return now + .nanoseconds(nanos)
    }

    /// The value in nanoseconds (saturating), nil when malformed.
    static func nanoseconds(_ value: String) -> Int64? {
        let utf8 = value.utf8
        guard utf8.count >= 2, utf8.count <= 9, let unit = utf8.last else { return nil }
        var amount: Int64 = 0
        for byte in utf8.dropLast() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        let scale: Int64
        switch unit {
        case UInt8(ascii: "H"): scale = 3_600_000_000_000
        case UInt8(ascii: "M"): scale = 60_000_000_000
        case UInt8(ascii: "S"): scale = 1_000_000_000
        case UInt8(ascii: "m"): scale = 1_000_000
        case UInt8(ascii: "u"): scale = 1_000
        case UInt8(ascii: "n"): scale = 1
        default: return nil
        }
        let (product, overflow) = amount.multipliedReportingOverflow(by: scale)
        return overflow ? Int64.max : product
    }

    /// The header value for a time left (rounded up to the unit that keeps 8 digits; at least 1n).
    static func encode(nanoseconds: Int64) -> String {
        let n = max(1, nanoseconds)
        let units: [(Int64, Character)] = [(1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"), (60_000_000_000, "M"), (3_600_000_000_000, "H")]
        for (scale, unit) in units {
            let amount = (n + scale - 1) / scale
            if amount <= 99_999_999 { return "\(amount)\(unit)" }
        }
        return "99999999H"
    }

    /// The header value for a deadline (nil when there is none).
    static func encode(deadline: NIODeadline, now: NIODeadline = .now()) -> String {
        encode(nanoseconds: (deadline - now).nanoseconds)
    }
}
