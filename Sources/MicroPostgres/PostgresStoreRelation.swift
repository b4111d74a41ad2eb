import MicroCore
import PostgresNIO

/// What an operation needs in the database before it runs — a store table with its sequence and
/// indexes, or a model's table — made (or brought up to date) once per process by
/// ``PostgresStoreClient/withSession(_:idempotent:_:)``.
protocol PostgresStoreRelation: Sendable {
    /// Names this definition: each is set up once per process (and again if found dropped).
    var setupID: String { get }
    /// The quoted schema it lives in.
    var schema: String { get }
    /// Creates or migrates it; runs inside a transaction that holds the client's creation lock, after
    /// the schema was created.
    func setUp(_ session: PostgresStoreSession) async throws
}

extension PostgresStoreRelation {
    /// Throws ``StoreError/Code/malformed`` when `table` exists but its revision sequence does not: made
    /// again, it would start at 1 and reuse revisions.
    func refuseMissingSequence(table: String, sequence: String, _ session: PostgresStoreSession) async throws {
        var names = PostgresBindings()
        names.append(table)
        names.append(sequence)
        let found = try await session.query(PostgresQuery(unsafeSQL: "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
                                                          binds: names))
        if let row = found.first, try row.decode((Bool, Bool).self) == (true, false) {
            throw StoreError(.malformed, "the revision sequence of \(table) is missing")
        }
    }
}
