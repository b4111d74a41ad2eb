import NIOCore
import PostgresNIO

/// The binds of one statement, each added where the SQL needs it and named by the placeholder
/// (`$1`, `$2`, ...) it returns, so statement text and binds cannot drift apart.
struct PostgresStoreBinds: Sendable {
    private(set) var bindings = PostgresBindings(capacity: 8)

    /// Adds `value` (as its PostgreSQL type: `text`, `bigint`, `double precision`, `boolean`, ...) and
    /// returns its placeholder.
    mutating func add(_ value: some PostgresNonThrowingEncodable) -> String {
        bindings.append(value)
        return "$\(bindings.count)"
    }

    /// Adds NULL (its type left to the server) and returns its placeholder.
    mutating func addNull() -> String {
        bindings.appendNull()
        return "$\(bindings.count)"
    }

    /// The query of `sql` with these binds.
    func query(_ sql: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}
