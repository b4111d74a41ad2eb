import NIOConcurrencyHelpers

/// A model type resolved for backends: its validated table, key and indexes, and every field with the
/// kind of value it holds (learnt from its Codable form by ``ModelSchemaProbe``). Resolved once per
/// type and cached.
package struct ModelLayout: Sendable {
    /// One field.
    package struct Field: Sendable, Hashable {
        /// Its name in the Codable form (a column name on SQL backends).
        package var name: String
        /// What it holds.
        package var kind: ModelFieldKind
        /// Whether it may be nil.
        package var optional: Bool
    }

    /// The model type's name, for messages.
    package let model: String
    /// The table (validated, lowercased).
    package let table: String
    /// The key field.
    package let key: Field
    /// Every field, in the order the type decodes them (the key among them).
    package let fields: [Field]
    /// The indexed fields, in declaration order, without repeats.
    package let indexes: [Field]
    /// Values of fields missing from old rows.
    package let defaults: [String: ModelValue]
    private let byName: [String: Field]

    /// The column a backend may add for its own use; no field may be named so.
    package static let revisionColumn = "micro_revision"
    /// The longest field name.
    package static let maxFieldNameLength = 48

    /// The field named `name`, nil when the model has none.
    package func field(_ name: String) -> Field? { byName[name] }

    /// The layout of `M`, resolved and validated on first use; ``StoreError/Code/invalidName`` for a bad
    /// table or field name, ``StoreError/Code/invalidArgument`` for a schema naming fields the type does
    /// not have, a key that is not a string or integer, or a type whose fields cannot be learnt.
    package static func of<M: Model>(_ type: M.Type) throws -> ModelLayout {
        let id = ObjectIdentifier(type)
        if let cached = cache.withLockedValue({ $0[id] }) { return try cached.get() }
        let result = Result { () throws(StoreError) -> ModelLayout in try resolve(type) }
        cache.withLockedValue { $0[id] = result }
        return try result.get()
    }

    private static let cache = NIOLockedValueBox<[ObjectIdentifier: Result<ModelLayout, StoreError>]>([:])

    private static func resolve<M: Model>(_ type: M.Type) throws(StoreError) -> ModelLayout {
        let schema = M.schema
        let model = String(describing: M.self)
        let table: String
        do { table = try StoreScope.validate(schema.table, "table") } catch let error as StoreError { throw error } catch {
            throw StoreError(.invalidName, "\(error)")
        }
        let probed: [(name: String, kind: ModelFieldKind, optional: Bool)]
        do {
            probed = try ModelSchemaProbe.fields(of: M.self)
        } catch {
            throw StoreError(.invalidArgument, "cannot learn the fields of \(model) from its Codable form: \(error)")
        }
        guard !probed.isEmpty else {
            throw StoreError(.invalidArgument, "\(model) has no fields in its Codable form (a model decodes from a keyed container)")
        }
        var fields: [Field] = []
        var byName: [String: Field] = [:]
        for (name, kind, optional) in probed {
            try validateFieldName(name, model: model)
            let field = Field(name: name, kind: kind, optional: optional)
            fields.append(field)
            byName[name] = field
        }
        guard let key = byName[schema.keyField] else {
            throw StoreError(.invalidArgument, "\(model)'s key '\(StoreKey.printable(schema.keyField))' is not one of its fields (\(fields.map(\.name).joined(separator: ", ")))")
        }
        guard key.kind == .string || key.kind == .int, !key.optional else {
            throw StoreError(.invalidArgument, "\(model)'s key '\(key.name)' must be a non-optional string or integer, not \(key.kind)\(key.optional ? "?" : "")")
        }
        var indexes: [Field] = []
        for name in schema.indexes {
            guard let field = byName[name] else {
                throw StoreError(.invalidArgument, "\(model) indexes '\(StoreKey.printable(name))', which is not one of its fields")
            }
            guard field.kind != .json else {
                throw StoreError(.invalidArgument, "\(model) indexes '\(name)', which holds nested JSON; only strings, numbers and booleans are indexed")
            }
            if field.name != key.name, !indexes.contains(field) { indexes.append(field) }
        }
        for name in schema.defaults.keys where byName[name] == nil {
            throw StoreError(.invalidArgument, "\(model) has a default for '\(StoreKey.printable(name))', which is not one of its fields")
        }
        return ModelLayout(model: model, table: table, key: key, fields: fields, indexes: indexes, defaults: schema.defaults, byName: byName)
    }

    /// Throws ``StoreError/Code/invalidName`` unless `name` is 1 to 48 of `[A-Za-z0-9_]`, not starting
    /// with a digit, and not the backends' own column.
    package static func validateFieldName(_ name: String, model: String) throws(StoreError) {
        let bytes = Array(name.utf8)
        let valid = !bytes.isEmpty && bytes.count <= maxFieldNameLength && !(bytes[0] >= UInt8(ascii: "0") && bytes[0] <= UInt8(ascii: "9"))
            && bytes.allSatisfy { b in
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                    || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
            }
        guard valid else {
            throw StoreError(.invalidName, "\(model)'s field '\(StoreKey.printable(name))' is not a valid field name (1 to \(maxFieldNameLength) of A-Z, a-z, 0-9, '_', not starting with a digit)")
        }
        guard name.lowercased() != revisionColumn else {
            throw StoreError(.invalidName, "\(model)'s field '\(name)' has the name backends keep for the revision")
        }
    }
}
