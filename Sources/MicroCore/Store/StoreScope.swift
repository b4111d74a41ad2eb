/// Where records live: a database and a table in it (go-micro's `Database` and `Table` options).
/// The same key in two scopes names two records.
///
/// Names are 1 to ``maxNameLength`` characters of `[A-Za-z0-9_-]`, so SQL backends can use them as
/// identifiers and file names safely, and are case-insensitive (kept lowercased): every backend,
/// SQLite's case-insensitive identifiers among them, sees one table for `Users` and `users`.
public struct StoreScope: Sendable, Hashable, CustomStringConvertible {
    /// The database: a file for SQLite, a schema or prefix elsewhere.
    public let database: String
    /// The table within the database.
    public let table: String

    /// The longest name, leaving room for a backend's prefix in a 63-byte SQL identifier.
    public static let maxNameLength = 48
    /// go-micro's defaults: database `micro`, table `micro`.
    public static let `default` = StoreScope(checked: "micro", "micro")

    /// A scope; throws ``StoreError/Code/invalidName`` for a name that is not 1 to 48 of `[A-Za-z0-9_-]`.
    public init(database: String, table: String) throws {
        self.database = try Self.validate(database, "database")
        self.table = try Self.validate(table, "table")
    }

    package init(checked database: String, _ table: String) {
        self.database = database
        self.table = table
    }

    /// The same database, another table.
    public func table(_ table: String) throws -> StoreScope {
        try StoreScope(database: database, table: table)
    }

    public var description: String { "\(database)/\(table)" }

    /// `name` lowercased when it is a valid database or table name.
    public static func validate(_ name: String, _ role: String = "name") throws -> String {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= maxNameLength else {
            throw StoreError(.invalidName, "a \(role) name is 1 to \(maxNameLength) characters, got \(bytes.count)")
        }
        for b in bytes {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default:
                throw StoreError(.invalidName, "a \(role) name holds only A-Z, a-z, 0-9, '_' and '-', got '\(StoreKey.printable(name))'")
            }
        }
        return name.lowercased()
    }
}
