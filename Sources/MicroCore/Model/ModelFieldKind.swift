/// What a field of a model holds in its Codable form, as learned from decoding it: what a SQL column's
/// type and an index's encoding follow.
package enum ModelFieldKind: String, Sendable, Hashable {
    /// Integers of any width.
    case int
    /// Floating-point numbers, and dates (seconds since 2001).
    case double
    /// Strings, and what decodes from one (UUID, URL, string enums).
    case string
    /// Booleans.
    case bool
    /// Anything nested (structs, arrays, dictionaries), kept as JSON text.
    case json
}
