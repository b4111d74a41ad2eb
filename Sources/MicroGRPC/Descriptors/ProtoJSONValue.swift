/// A parsed JSON value that keeps numbers as their text (so 64-bit integers stay exact) and
/// object members in order (so duplicates can be reported).
enum ProtoJSONValue: Sendable {
    case null
    case bool(Bool)
    /// The number's text as written (already checked against JSON's grammar).
    case number(String)
    case string(String)
    case array([ProtoJSONValue])
    case object([(key: String, value: ProtoJSONValue)])

    /// The kind, for error messages.
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
