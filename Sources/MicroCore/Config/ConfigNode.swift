/// One value of a ``ConfigTree``: an object, an array or a JSON scalar.
public enum ConfigNode: Sendable, Hashable {
    /// Named members (keys are whatever the document used; only ``ConfigPath`` components can be read).
    case object([String: ConfigNode])
    /// Elements in order.
    case array([ConfigNode])
    /// A string.
    case string(String)
    /// A number written without fraction or exponent that fits in an `Int`.
    case int(Int)
    /// Any other number.
    case double(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
}

extension ConfigNode {
    /// The value as JSON text.
    public func jsonDocument() -> [UInt8] {
        // Plain values (finite numbers only: the parser refuses others) always encode.
        (try? JSONStreamEncoding.encode(self)) ?? Array("null".utf8)
    }
}

extension ConfigNode: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .object(let members): try container.encode(members)
        case .array(let elements): try container.encode(elements)
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}
