/// A Codable type kept in a store as rows of a table: its ``schema`` names the table, the key field and
/// the indexed fields. The fields themselves and their types come from the type's Codable form.
///
/// ```swift
/// struct User: Model, Identifiable {
///     var id: String
///     var name: String
///     var age: Int
///     static let schema = ModelSchema(key: \User.id, indexes: [\.name, \.age])
/// }
/// let users = store.model(User.self)
/// try await users.create(User(id: "1", name: "Alice", age: 30))
/// let adults = try await users.list(where: [\.age >= 18], order: .ascending(\.name))
/// ```
/// An `Identifiable` model with a string or integer `id` and no indexes needs no schema at all.
public protocol Model: Codable, Sendable {
    /// The type of the key field.
    associatedtype Key: ModelKey
    /// The table, the key field and the indexed fields.
    static var schema: ModelSchema<Self, Key> { get }
}

extension Model where Self: Identifiable, ID: ModelKey {
    /// Table named after the type, keyed by `id`, no indexes.
    public static var schema: ModelSchema<Self, ID> { ModelSchema(keyField: "id") }
}
