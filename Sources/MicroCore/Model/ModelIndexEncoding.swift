/// Field values as text whose byte order is the values' order, for store keys (record keys and index
/// records): a one-character tag (`0` null, `1` bool, `2` integer, `3` double, `4` string) then the
/// value — booleans `0`/`1`, numbers as 16 hex digits of an order-preserving 64-bit form, strings as
/// their UTF-8 with byte 0x01 escaped as 0x01 0x02 and ended by 0x01 0x01. Every encoding is
/// prefix-free, so what follows it in a key does not disturb the order.
///
/// Index values keep at most ``maxIndexedStringBytes`` bytes of a string (ended by 0x01 0x03 when cut);
/// index reads then return a superset, which readers check against the records anyway.
package enum ModelIndexEncoding {
    /// The most bytes of a string an index record keeps.
    package static let maxIndexedStringBytes = 192

    /// The exact, untruncated encoding of a key.
    package static func key(_ value: ModelValue) -> String {
        switch value {
        case .int(let i): return "2" + hex(UInt64(bitPattern: i) ^ (1 << 63))
        case .string(let s): return "4" + escape(s) + "\u{01}\u{01}"
        default: return encode(value, as: .string)
        }
    }

    /// The prefix shared by the key encodings of every string key starting with `prefix`.
    package static func keyPrefix(_ prefix: String) -> String {
        "4" + escape(prefix)
    }

    /// The encoding of `value` in an index on a field of `kind` (strings cut to ``maxIndexedStringBytes``).
    package static func encode(_ value: ModelValue, as kind: ModelFieldKind) -> String {
        switch value {
        case .null: return "0"
        case .bool(let b): return b ? "11" : "10"
        case .int, .double:
            return kind == .int ? int(value, rounding: .down) : double(value.number ?? 0)
        case .string(let s):
            let (cut, truncated) = cut(s)
            return "4" + escape(cut) + (truncated ? "\u{01}\u{03}" : "\u{01}\u{01}")
        case .json(let j): return "5" + escape(j) + "\u{01}\u{01}"
        }
    }

    /// The first tag of non-null values of `kind`.
    package static func tag(_ kind: ModelFieldKind) -> String {
        switch kind {
        case .bool: return "1"
        case .int: return "2"
        case .double: return "3"
        case .string: return "4"
        case .json: return "5"
        }
    }

    /// A string every encoding of a value ≥ `value` (of a field of `kind`) is at or after.
    package static func lowerBound(_ value: ModelValue, as kind: ModelFieldKind) -> String {
        switch value {
        case .string(let s): return "4" + escape(cut(s).0)
        case .int, .double: return kind == .int ? int(value, rounding: .down) : double(value.number ?? 0)
        default: return encode(value, as: kind)
        }
    }

    /// A prefix every encoding of a value ≤ `value` sorts before or starts with.
    package static func upperPrefix(_ value: ModelValue, as kind: ModelFieldKind) -> String {
        switch value {
        case .string(let s): return "4" + escape(cut(s).0)
        case .int, .double: return kind == .int ? int(value, rounding: .up) : double(value.number ?? 0)
        default: return encode(value, as: kind)
        }
    }

    /// The prefix shared by the encodings of every string starting with `prefix`.
    package static func stringPrefix(_ prefix: String) -> String {
        "4" + escape(cut(prefix).0)
    }

    private static func int(_ value: ModelValue, rounding: FloatingPointRoundingRule) -> String {
        let i: Int64
        switch value {
        case .int(let v): i = v
        case .double(let d):
            let r = d.rounded(rounding)
            i = r >= 9.2233720368547758e18 ? .max : (r < -9.2233720368547758e18 ? .min : Int64(r))
        default: i = 0
        }
        return "2" + hex(UInt64(bitPattern: i) ^ (1 << 63))
    }

    private static func double(_ d: Double) -> String {
        let d = d == 0 ? 0 : d   // -0 and 0 are one value
        let bits = d.bitPattern
        return "3" + hex(bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63))
    }

    private static func hex(_ v: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { out[i] = digits[Int((v >> UInt64(60 - 4 * i)) & 0xF)] }
        return String(decoding: out, as: UTF8.self)
    }

    private static func escape(_ s: String) -> String {
        guard s.utf8.contains(1) else { return s }
        var out: [UInt8] = []
        for b in s.utf8 {
            out.append(b)
            if b == 1 { out.append(2) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `s` cut to at most ``maxIndexedStringBytes`` UTF-8 bytes on a scalar boundary, and whether it was cut.
    private static func cut(_ s: String) -> (String, Bool) {
        guard s.utf8.count > maxIndexedStringBytes else { return (s, false) }
        var out = String.UnicodeScalarView()
        var n = 0
        for scalar in s.unicodeScalars {
            n += String(scalar).utf8.count
            if n > maxIndexedStringBytes { break }
            out.append(scalar)
        }
        return (String(out), true)
    }
}
