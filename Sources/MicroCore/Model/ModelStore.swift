/// The rows of one ``Model`` in a store: create, read, update, delete, list and count. Get one with
/// ``Store/model(_:)``; it is a cheap value, safe to share.
///
/// On SQL stores (SQLite, PostgreSQL) a model is a table with a column per field and an index per indexed field;
/// on any other store it is records keyed by the model's key plus index records (see
/// ``KeyValueModelBackend``). Every operation fails with a ``StoreError``: `conflict` for a duplicate
/// key or a revision that has moved on, `notFound` for an update of a missing row, `invalidName` for
/// a bad table or field name, `invalidArgument` for a filter or order on an unknown field or a value
/// of the wrong kind.
public struct ModelStore<M: Model>: Sendable {
    /// The store the rows live in (its database; the table is the model's).
    public let store: any Store

    /// The rows of `M` in `store`'s database.
    public init(_ type: M.Type = M.self, store: any Store) {
        self.store = store
    }

    /// Adds `model`; ``StoreError/Code/conflict`` when a row with its key exists.
    @discardableResult
    public func create(_ model: M) async throws -> Versioned<M> {
        let (layout, backend) = try resolved()
        let (key, values, json) = try encode(model, layout)
        let revision = try await backend.create(key: key, values: values, json: json)
        return Versioned(model, revision: revision)
    }

    /// The row with `key`, nil when there is none.
    public func read(_ key: M.Key) async throws -> Versioned<M>? {
        let (layout, backend) = try resolved()
        guard let row = try await backend.read(key: try keyValue(key, layout)) else { return nil }
        return try decode(row, layout)
    }

    /// Replaces the row with `model`'s key, whatever its revision (or only at `ifRevision`);
    /// ``StoreError/Code/notFound`` when there is none, ``StoreError/Code/conflict`` when its revision
    /// is not `ifRevision`.
    @discardableResult
    public func update(_ model: M, ifRevision: UInt64? = nil) async throws -> Versioned<M> {
        let (layout, backend) = try resolved()
        let (key, values, json) = try encode(model, layout)
        let revision = try await backend.update(key: key, values: values, json: json, ifRevision: ifRevision)
        return Versioned(model, revision: revision)
    }

    /// Writes `versioned`'s model back if its row is still at its revision; ``StoreError/Code/conflict``
    /// when it was written since, ``StoreError/Code/notFound`` when it was deleted.
    @discardableResult
    public func update(_ versioned: Versioned<M>) async throws -> Versioned<M> {
        try await update(versioned.value, ifRevision: versioned.revision)
    }

    /// Deletes the row with `key` (only at `ifRevision`, if given): false when there was none.
    @discardableResult
    public func delete(_ key: M.Key, ifRevision: UInt64? = nil) async throws -> Bool {
        let (layout, backend) = try resolved()
        return try await backend.delete(key: try keyValue(key, layout), ifRevision: ifRevision)
    }

    /// The rows meeting every filter of `filters`, ordered by `order` (default: by key), skipping
    /// `offset` and returning at most `limit`.
    public func list(where filters: [ModelFilter<M>] = [], order: ModelOrder<M>? = nil, limit: Int? = nil,
                     offset: Int = 0) async throws -> [Versioned<M>] {
        let (layout, backend) = try resolved()
        let query = try ModelQuery(filters, order: order, limit: limit, offset: offset, in: layout)
        return try await backend.list(query).map { try decode($0, layout) }
    }

    /// How many rows meet every filter of `filters`.
    public func count(where filters: [ModelFilter<M>] = []) async throws -> Int {
        let (layout, backend) = try resolved()
        let predicates = try filters.map { try ModelPredicate($0, in: layout) }
        return try await backend.count(predicates)
    }

    // MARK: Plumbing

    private func resolved() throws -> (ModelLayout, any ModelBackend) {
        let layout = try ModelLayout.of(M.self)
        if let provider = store as? any ModelBackendProvider {
            return (layout, try provider.modelBackend(for: layout))
        }
        return (layout, KeyValueModelBackend(store: try store.scoped(table: layout.table), layout: layout))
    }

    private func encode(_ model: M, _ layout: ModelLayout) throws -> (ModelValue, [String: ModelValue], [UInt8]) {
        let json: [UInt8]
        do { json = try JSONStreamEncoding.encode(model) } catch {
            throw StoreError(.invalidArgument, "cannot encode \(layout.model) as JSON: \(error)")
        }
        let values = try layout.values(fromJSON: json)
        guard let key = values[layout.key.name], key != .null else {
            throw StoreError(.invalidArgument, "\(layout.model) encoded without its key '\(layout.key.name)'")
        }
        try Self.validateKey(key, layout)
        return (key, values, json)
    }

    private func keyValue(_ key: M.Key, _ layout: ModelLayout) throws -> ModelValue {
        let value = key.modelValue
        try Self.validateKey(value, layout)
        return value
    }

    /// The longest string key, in UTF-8 bytes (room for index records' keys in every store).
    static var maxKeyBytes: Int { KeyValueModelBackend.maxKeyBytes }

    private static func validateKey(_ key: ModelValue, _ layout: ModelLayout) throws {
        guard case .string(let s) = key else { return }
        try StoreKey.validate(s)
        guard s.utf8.count <= maxKeyBytes else {
            throw StoreError(.invalidKey, "a \(layout.model) key is at most \(maxKeyBytes) bytes, got \(s.utf8.count)")
        }
    }

    private func decode(_ row: ModelRow, _ layout: ModelLayout) throws -> Versioned<M> {
        do {
            return Versioned(try JSONTapeDecoding.decode(M.self, from: row.json), revision: row.revision)
        } catch let error as DecodingError {
            throw StoreError(.malformed, "a \(layout.model) row does not decode: \(JSONCodec.describe(error))")
        } catch {
            throw StoreError(.malformed, "a \(layout.model) row does not decode: \(error)")
        }
    }
}
