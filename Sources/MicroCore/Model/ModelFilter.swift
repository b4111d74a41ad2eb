/// One condition on a field that rows of a ``Model`` must meet: `\.age >= 18`, `.prefix(\.name, "Al")`,
/// or by name, `ModelFilter("age", .greaterOrEqual, 18)`. A list of filters matches rows meeting all.
///
/// Comparisons follow Swift's on the field's values: numbers by value, strings by their UTF-8 bytes
/// (Unicode code point order), `false < true`; a nil field equals only nil, differs from every value,
/// and is neither less nor greater than anything.
public struct ModelFilter<M: Model>: Sendable, CustomStringConvertible {
    /// How a field is compared with the filter's value.
    public typealias Operator = ModelFilterOperator

    /// The field's name.
    public var field: String
    /// The comparison.
    public var op: Operator
    /// The value the field is compared with.
    public var value: ModelValue

    /// The filter `field op value`.
    public init(_ field: String, _ op: Operator, _ value: ModelValue) {
        self.field = field
        self.op = op
        self.value = value
    }

    /// The string field `field` starts with `prefix`.
    public static func prefix(_ field: KeyPath<M, String>, _ prefix: String) -> ModelFilter {
        ModelFilter(ModelFieldName.of(field), .prefix, .string(prefix))
    }

    /// The optional string field `field` starts with `prefix`.
    public static func prefix(_ field: KeyPath<M, String?>, _ prefix: String) -> ModelFilter {
        ModelFilter(ModelFieldName.of(field), .prefix, .string(prefix))
    }

    /// The string field named `field` starts with `prefix`.
    public static func prefix(_ field: String, _ prefix: String) -> ModelFilter {
        ModelFilter(field, .prefix, .string(prefix))
    }

    public var description: String { "\(field) \(op.rawValue) \(value)" }
}

/// `field == value`.
public func == <M: Model, V: ModelValueConvertible>(field: KeyPath<M, V>, value: V) -> ModelFilter<M> {
    ModelFilter(ModelFieldName.of(field), .equal, value.modelValue)
}

/// `field != value`.
public func != <M: Model, V: ModelValueConvertible>(field: KeyPath<M, V>, value: V) -> ModelFilter<M> {
    ModelFilter(ModelFieldName.of(field), .notEqual, value.modelValue)
}

/// `field < value`.
public func < <M: Model, V: ModelValueConvertible>(field: KeyPath<M, V>, value: V) -> ModelFilter<M> {
    ModelFilter(ModelFieldName.of(field), .less, value.modelValue)
}

/// `field <= value`.
public func <= <M: Model, V: ModelValueConvertible>(field: KeyPath<M, V>, value: V) -> ModelFilter<M> {
    ModelFilter(ModelFieldName.of(field), .lessOrEqual, value.modelValue)
}

/// `field > value`.
public func > <M: Model, V: ModelValueConvertible>(field: KeyPath<M, V>, value: V) -> ModelFilter<M> {
    ModelFilter(ModelFieldName.of(field), .greater, value.modelValue)
}

/// `field >= value`.
public func >= <M: Model, V: ModelValueConvertible>(field: KeyPath<M, V>, value: V) -> ModelFilter<M> {
    ModelFilter(ModelFieldName.of(field), .greaterOrEqual, value.modelValue)
}
