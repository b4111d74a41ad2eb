/// How one store keeps one model's rows: on any ``Store`` as records and index records
/// (``KeyValueModelBackend``), or natively (a SQL table). Arguments are validated by ``ModelStore``.
package protocol ModelBackend: Sendable {
    /// Adds a row; ``StoreError/Code/conflict`` when one with its key exists.
    func create(key: ModelValue, values: [String: ModelValue], json: [UInt8]) async throws -> UInt64
    /// The row with `key`, nil when there is none.
    func read(key: ModelValue) async throws -> ModelRow?
    /// Replaces a row; ``StoreError/Code/notFound`` when there is none, ``StoreError/Code/conflict``
    /// when `ifRevision` is given and the row's revision is another.
    func update(key: ModelValue, values: [String: ModelValue], json: [UInt8], ifRevision: UInt64?) async throws -> UInt64
    /// Deletes a row: false when there was none (``StoreError/Code/conflict`` then, or for another
    /// revision, when `ifRevision` is given).
    func delete(key: ModelValue, ifRevision: UInt64?) async throws -> Bool
    /// The rows `query` selects, in its order.
    func list(_ query: ModelQuery) async throws -> [ModelRow]
    /// How many rows meet every predicate.
    func count(_ predicates: [ModelPredicate]) async throws -> Int
}
