import NIOCore
import PostgresNIO

/// The binds of one statement, each added where the SQL needs it and named by the placeholder
/// (`$1`, `$2`, ...) it returns, so statement text and binds cannot drift apart.
struct PostgresStoreBinds: Sendable {
    private(set) var bindings = PostgresBindings(capacity: 8)

    /// Adds `text` (as `text`) and returns its placeholder.
    mutating func add(_ text: String) -> String {
        bindings.append(text)
        return "$\(bindings.count)"
    }

    /// Adds `number` (as `bigint`) and returns its placeholder.
    mutating func add(_ number: Int64) -> String {
        bindings.append(number)
        return "$\(bindings.count)"
    }

    /// The query of `sql` with these binds.
    func query(_ sql: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: bindings)
    }
}
