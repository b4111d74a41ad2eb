/// Text as Go's standard library writes it, so requests match what go-micro's plugin sends:
/// `time.Duration.String()` and `encoding/json` string escaping.
package enum GoFormat {
    /// A duration as Go's `Duration.String()` prints it: `1s`, `1.5s`, `1m5s`, `1h0m0s`, `250ms`.
    package static func duration(_ d: Duration) -> String {
        let (seconds, attos) = d.components
        var nanos = seconds * 1_000_000_000 + attos / 1_000_000_000
        if nanos == 0 { return "0s" }
        let negative = nanos < 0
        if negative { nanos = -nanos }
        var out: String
        if nanos < 1_000_000_000 {
            // Sub-second: the largest of ns, µs, ms that keeps a non-zero integer part.
            let (unit, scale): (String, Int64) = nanos < 1_000 ? ("ns", 1) : nanos < 1_000_000 ? ("µs", 1_000) : ("ms", 1_000_000)
            out = fraction(nanos, scale) + unit
        } else {
            let hours = nanos / 3_600_000_000_000
            let minutes = (nanos / 60_000_000_000) % 60
            let secNanos = nanos % 60_000_000_000
            out = fraction(secNanos, 1_000_000_000) + "s"
            if hours > 0 || minutes > 0 { out = "\(minutes)m" + out }
            if hours > 0 { out = "\(hours)h" + out }
        }
        return negative ? "-" + out : out
    }

    /// `value / scale` with the fraction's trailing zeros dropped.
    private static func fraction(_ value: Int64, _ scale: Int64) -> String {
        let whole = value / scale
        var rest = value % scale
        guard rest != 0 else { return "\(whole)" }
        var digits = ""
        var s = scale
        while s > 1 { s /= 10; digits.append(Character(String(rest / s))); rest %= s }
        while digits.last == "0" { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// Parses a Go duration (`300ms`, `1.5h`, `2h45m`, `1m5s`); nil when malformed.
    package static func parseDuration(_ text: String) -> Duration? {
        var s = Substring(text)
        var negative = false
        if s.first == "-" || s.first == "+" { negative = s.first == "-"; s = s.dropFirst() }
        if s == "0" { return .zero }
        guard !s.isEmpty else { return nil }
        var total = 0.0
        while !s.isEmpty {
            let number = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unit = s.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            s = s.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs", "μs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            total += value * scale
        }
        let d = Duration.nanoseconds(Int64((total * 1e9).rounded()))
        return negative ? .zero - d : d
    }

    /// Appends `s` as a JSON string literal the way Go's `json.Marshal` escapes it (HTML-safe).
    package static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += Array(#"\""#.utf8)
            case "\\": out += Array(#"\\"#.utf8)
            case "\n": out += Array(#"\n"#.utf8)
            case "\r": out += Array(#"\r"#.utf8)
            case "\t": out += Array(#"\t"#.utf8)
            case "\u{08}": out += Array(#"\b"#.utf8)
            case "\u{0C}": out += Array(#"\f"#.utf8)
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += Array(unicodeEscape(scalar.value).utf8)
            default:
                if scalar.value < 0x20 {
                    out += Array(unicodeEscape(scalar.value).utf8)
                } else {
                    out += Array(String(scalar).utf8)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func unicodeEscape(_ v: UInt32) -> String {
        let hex = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Appends a `map[string]string` as Go marshals it: keys in byte order; nil for an empty map
    /// writes `null` when `emptyIsNull`.
    package static func appendJSONMap(_ map: [String: String], emptyIsNull: Bool, to out: inout [UInt8]) {
        if map.isEmpty && emptyIsNull { out += Array("null".utf8); return }
        out.append(UInt8(ascii: "{"))
        for (i, key) in sortedKeys(map).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendJSONString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendJSONString(map[key] ?? "", to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Map keys in Go's order (bytewise on UTF-8).
    package static func sortedKeys(_ map: [String: String]) -> [String] {
        map.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
