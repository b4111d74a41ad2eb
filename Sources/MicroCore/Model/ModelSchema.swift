/// How a ``Model`` is kept: its table, its key field and the fields with an index (a query filtering
/// or ordering on an indexed field reads the index instead of every row).
///
/// Fields are named as the model's Codable form names them (its coding keys); a key path names the
/// stored property it points to, which is the same unless the type renames its coding keys.
public struct ModelSchema<M: Model, Key: ModelKey>: Sendable {
    /// The table: 1 to 48 of `[A-Za-z0-9_-]`, kept lowercased. Default: the type's name.
    public var table: String
    /// The key field.
    public var keyField: String
    /// The indexed fields.
    public var indexes: [String]
    /// Values for fields added to the model after rows were written: an old row without the field reads
    /// as this value. (An optional field needs none: a missing value reads as nil.)
    public var defaults: [String: ModelValue]

    /// A schema keyed by the field `key` points to, with an index on each of `indexes`.
    public init(table: String? = nil, key: KeyPath<M, Key>, indexes: [PartialKeyPath<M>] = [],
                defaults: [String: ModelValue] = [:]) {
        self.init(table: table, keyField: Self.fieldName(key), indexes: indexes.map(Self.fieldName), defaults: defaults)
    }

    /// A schema keyed by the field named `keyField`, with an index on each field named in `indexes`.
    public init(table: String? = nil, keyField: String, indexes: [String] = [], defaults: [String: ModelValue] = [:]) {
        self.table = table ?? Self.defaultTable
        self.keyField = keyField
        self.indexes = indexes
        self.defaults = defaults
    }

    /// The model type's name (without module or generic arguments).
    static var defaultTable: String {
        let name = String(describing: M.self)
        return String(name.prefix { $0 != "<" })
    }

    /// The field a key path names: `\User.age` is `age`; a path into a nested value is kept whole, and
    /// refused as an unknown field when used.
    static func fieldName(_ keyPath: AnyKeyPath) -> String {
        ModelFieldName.of(keyPath)
    }
}
