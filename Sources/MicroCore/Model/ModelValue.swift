/// The value of one field of a model, as filters compare it and backends store it: what the model's
/// Codable form holds at that field (a `Date` is its seconds since 2001, as Codable writes it).
public enum ModelValue: Sendable, Hashable, CustomStringConvertible {
    /// No value (an optional field that is nil).
    case null
    /// A boolean.
    case bool(Bool)
    /// An integer.
    case int(Int64)
    /// A floating-point number.
    case double(Double)
    /// A string.
    case string(String)
    /// A nested value (struct, array, dictionary) as its JSON text.
    case json(String)

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .string(let s): return "\"\(StoreKey.printable(s))\""
        case .json(let j): return StoreKey.printable(j)
        }
    }

    /// The number this value holds, as a Double; nil for non-numbers.
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// How `self` compares with `other`: negative, zero or positive; nil when they cannot be ordered
    /// (different kinds, or JSON). Null sorts before everything; numbers compare by value, strings by UTF-8 bytes.
    func compare(_ other: ModelValue) -> Int? {
        switch (self, other) {
        case (.null, .null): return 0
        case (.null, _): return -1
        case (_, .null): return 1
        case (.bool(let a), .bool(let b)): return a == b ? 0 : (a ? 1 : -1)
        case (.int(let a), .int(let b)): return a == b ? 0 : (a < b ? -1 : 1)
        case (.string(let a), .string(let b)):
            if a.utf8.elementsEqual(b.utf8) { return 0 }
            return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
        case (.json(let a), .json(let b)): return a.utf8.elementsEqual(b.utf8) ? 0 : nil
        default:
            guard let a = number, let b = other.number, !a.isNaN, !b.isNaN else { return nil }
            return a == b ? 0 : (a < b ? -1 : 1)
        }
    }
}

extension ModelValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral {
    /// `.null`.
    public init(nilLiteral: ()) { self = .null }
    /// `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// `.int`.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// `.double`.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
}
