/// A decoded msgpack value: what memberlist and serf put on the wire (go-msgpack's encoding of Go
/// structs as maps keyed by field name, `[]byte` and `string` both as raw bytes).
package enum MessagePackValue: Sendable, Hashable {
    /// `nil`.
    case null
    /// A boolean.
    case bool(Bool)
    /// A negative (or signed-format) integer.
    case int(Int64)
    /// A non-negative integer.
    case uint(UInt64)
    /// A float32 or float64.
    case float(Double)
    /// Raw bytes: a msgpack str (old "raw") or bin; Go's `string` and `[]byte` alike.
    case raw([UInt8])
    /// An array.
    case array([MessagePackValue])
    /// A map, in wire order.
    case map([MessagePackPair])
    /// An extension value (type, data); memberlist sends none, so it is kept only to be skipped.
    case ext(Int8, [UInt8])

    /// A string value (`raw` bytes as UTF-8, invalid sequences repaired).
    package static func string(_ s: String) -> MessagePackValue { .raw(Array(s.utf8)) }

    /// The value as an unsigned integer, if it is a non-negative integer.
    package var unsignedValue: UInt64? {
        switch self {
        case .uint(let u): return u
        case .int(let i): return i >= 0 ? UInt64(i) : nil
        default: return nil
        }
    }

    /// The value as raw bytes (`nil` counts as empty, as go-msgpack decodes it).
    package var bytesValue: [UInt8]? {
        switch self {
        case .raw(let b): return b
        case .null: return []
        case .array(let items):
            // A `[]uint8` written by an encoder that treats it as an array of numbers.
            var out: [UInt8] = []
            out.reserveCapacity(items.count)
            for item in items {
                guard let u = item.unsignedValue, u <= 255 else { return nil }
                out.append(UInt8(u))
            }
            return out
        default: return nil
        }
    }

    /// The value as a string (`nil` counts as empty).
    package var stringValue: String? {
        switch self {
        case .raw(let b): return String(decoding: b, as: UTF8.self)
        case .null: return ""
        default: return nil
        }
    }

    /// The value as a boolean (`nil` counts as false).
    package var boolValue: Bool? {
        switch self {
        case .bool(let b): return b
        case .null: return false
        default: return nil
        }
    }

    /// The value of `key` in a map whose keys are strings (the first one, if repeated).
    package subscript(key: String) -> MessagePackValue? {
        guard case .map(let pairs) = self else { return nil }
        let k = Array(key.utf8)
        for pair in pairs { if case .raw(let b) = pair.key, b == k { return pair.value } }
        return nil
    }
}
