/// How a ``ModelFilter`` compares a field with its value.
public enum ModelFilterOperator: String, Sendable, Hashable {
    /// `==`
    case equal = "=="
    /// `!=`
    case notEqual = "!="
    /// `<`
    case less = "<"
    /// `<=`
    case lessOrEqual = "<="
    /// `>`
    case greater = ">"
    /// `>=`
    case greaterOrEqual = ">="
    /// The string field starts with the value.
    case prefix = "prefix"
}
