/// The SQL a ``SQLiteStore`` runs on one store table, written once per store (scope) rather than
/// interpolated on every operation: the hot paths pass a ready string to the driver.
package struct SQLiteStoreStatements: Sendable {
    /// The table's quoted name (from a validated name: `[a-z0-9_-]`).
    package let table: String
    /// A live record by key: binds key, now.
    package let read: String
    /// An unconditional upsert: binds key, value, metadata, expiry, revision.
    package let write: String
    /// An insert that may replace only an expired row: binds key, value, metadata, expiry, revision, now.
    package let writeIfAbsent: String
    /// An update of a live row at a revision: binds value, metadata, expiry, revision, key, expected, now.
    package let writeIfRevision: String
    /// The live row's revision, to explain a failed condition: binds key, now.
    package let currentRevision: String
    /// A delete of a live row at a revision: binds key, expected, now.
    package let deleteIfRevision: String
    /// An unconditional delete: binds key.
    package let delete: String
    /// The sweep of expired rows: binds now.
    package let sweep: String

    init(table: String) {
        self.table = table
        read = "SELECT key, value, metadata, expiry, revision FROM \(table) WHERE key = ? AND (expiry IS NULL OR expiry > ?)"
        let insert = """
            INSERT INTO \(table) (key, value, metadata, expiry, revision) VALUES (?, coalesce(?, x''), ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value,
            metadata = excluded.metadata, expiry = excluded.expiry, revision = excluded.revision
            """
        write = insert + " RETURNING revision"
        writeIfAbsent = insert + " WHERE \(table).expiry IS NOT NULL AND \(table).expiry <= ? RETURNING revision"
        writeIfRevision = """
            UPDATE \(table) SET value = coalesce(?, x''), metadata = ?, expiry = ?, revision = ?
            WHERE key = ? AND revision = ? AND (expiry IS NULL OR expiry > ?) RETURNING revision
            """
        currentRevision = "SELECT revision FROM \(table) WHERE key = ? AND (expiry IS NULL OR expiry > ?)"
        deleteIfRevision = "DELETE FROM \(table) WHERE key = ? AND revision = ? AND (expiry IS NULL OR expiry > ?) RETURNING revision"
        delete = "DELETE FROM \(table) WHERE key = ? RETURNING expiry"
        sweep = "DELETE FROM \(table) WHERE expiry IS NOT NULL AND expiry <= ?"
    }

    /// The statement bumping a database's revision sequence and returning the new revision.
    package static let nextRevision = """
        UPDATE micro_store_sequence SET revision = revision + 1
        WHERE id = 1 AND typeof(revision) = 'integer' AND revision >= 0 RETURNING revision
        """
}
