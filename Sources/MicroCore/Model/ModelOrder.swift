/// The order of the rows a list returns: by one field, ascending or descending, rows with equal values
/// by key (ascending). Nil values sort first when ascending.
public struct ModelOrder<M: Model>: Sendable {
    /// The field's name.
    public var field: String
    /// Whether larger values come first.
    public var descending: Bool

    /// Order by the field named `field`.
    public init(_ field: String, descending: Bool = false) {
        self.field = field
        self.descending = descending
    }

    /// Smallest `field` first.
    public static func ascending<V>(_ field: KeyPath<M, V>) -> ModelOrder { ModelOrder(ModelFieldName.of(field)) }
    /// Largest `field` first.
    public static func descending<V>(_ field: KeyPath<M, V>) -> ModelOrder { ModelOrder(ModelFieldName.of(field), descending: true) }
    /// Smallest value of the field named `field` first.
    public static func ascending(_ field: String) -> ModelOrder { ModelOrder(field) }
    /// Largest value of the field named `field` first.
    public static func descending(_ field: String) -> ModelOrder { ModelOrder(field, descending: true) }
}
