import Foundation
import Logging
import MicroCore
import NIOCore
import SQLiteNIO

/// The embedded default store (`MICRO_STORE=sqlite`): one SQLite file per database under a directory
/// (`$MICRO_HOME/store/<database>.sqlite`), one table per store table, on sqlite-nio.
///
/// Files are in WAL mode with `synchronous=FULL`: a write returns once it is in the synced log, so every
/// acknowledged write survives kill -9 of the process and a crash of the machine. Conditions are
/// checked in the write's own transaction (`BEGIN IMMEDIATE`, then an upsert or update guarded by
/// the condition), so processes sharing a file cannot lose each other's updates. Revisions come from
/// one sequence per file, bumped in the same transaction. Prefix reads are range queries on the key's
/// primary-key index (`key >= prefix AND key < bound`). Rows are checked as they are read: one that
/// is not a record fails the operation with ``StoreError/Code/malformed``.
///
/// A file removed (or replaced) under the running store: SQLite would go on writing to the removed
/// file, so after every committed write or delete the store checks that the path still names the file
/// and write-ahead log it holds; if not, that operation fails with ``StoreError/Code/unavailable``
/// (its change went to the removed file and is lost with it; nothing is acknowledged there) and the
/// next operation opens the path afresh. Reads before that write may still see the removed file.
public final class SQLiteStore: Store {
    /// Always `sqlite`.
    public let name = "sqlite"
    public let scope: StoreScope
    let files: SQLiteStoreFiles
    /// This scope's statements, written once.
    package let sql: SQLiteStoreStatements
    /// This scope's database, looked up once (nil when the store was already shut down).
    private let cachedDatabase: SQLiteStoreDatabase?

    /// A store whose databases live in `configuration.directory`, bound to `scope`. Nothing is opened
    /// until the first operation.
    public init(configuration: SQLiteStoreConfiguration, scope: StoreScope = .default,
                logger: Logger = Logger(label: "micro.store.sqlite")) {
        self.scope = scope
        self.files = SQLiteStoreFiles(configuration: configuration, logger: logger)
        self.sql = SQLiteStoreStatements(table: Self.tableName(scope.table))
        self.cachedDatabase = try? files.database(scope.database)
    }

    /// A store in `directory` (default ``SQLiteStoreConfiguration/defaultDirectory(environment:)``).
    public convenience init(directory: String? = nil, limits: StoreLimits = StoreLimits(), scope: StoreScope = .default) {
        self.init(configuration: SQLiteStoreConfiguration(directory: directory ?? SQLiteStoreConfiguration.defaultDirectory(), limits: limits),
                  scope: scope)
    }

    private init(files: SQLiteStoreFiles, scope: StoreScope) {
        self.files = files
        self.scope = scope
        self.sql = SQLiteStoreStatements(table: Self.tableName(scope.table))
        self.cachedDatabase = try? files.database(scope.database)
    }

    public var limits: StoreLimits { files.configuration.limits }

    /// The directory holding the database files.
    public var directory: String { files.configuration.directory }

    /// The file that holds `database`.
    public func path(of database: String) throws -> String {
        files.path(of: try StoreScope.validate(database, "database"))
    }

    public func scoped(_ scope: StoreScope) -> any Store {
        SQLiteStore(files: files, scope: scope)
    }

    /// Closes every database file of every scope of this store.
    public func shutdown() async {
        await files.close()
    }

    // MARK: Reading

    public func read(_ key: String) async throws -> StoreRecord? {
        try StoreKey.validate(key)
        let sql = self.sql.read
        let rows = try await reading { connection, _ in
            try await connection.query(sql, [.text(key), .integer(SQLiteInt64(StoreClock.nowMilliseconds()))])
        }
        guard let row = rows.first else { return nil }
        return try SQLiteRecordDecoding.record(row)
    }

    public func read(_ query: StoreQuery) async throws -> [StoreRecord] {
        try query.validate()
        let rows = try await reading { connection, table in
            let (sql, binds) = Self.select("key, value, metadata, expiry, revision", from: table, query)
            return try await connection.query(sql, binds)
        }
        return try rows.map(SQLiteRecordDecoding.record)
    }

    public func list(_ query: StoreQuery) async throws -> [String] {
        try query.validate()
        let rows = try await reading { connection, table in
            let (sql, binds) = Self.select("key", from: table, query)
            return try await connection.query(sql, binds)
        }
        return try rows.map(SQLiteRecordDecoding.key)
    }

    /// SQLite's plan for the statement a read of `query` runs (one line per step), to show which index it uses.
    package func queryPlan(_ query: StoreQuery) async throws -> [String] {
        let rows = try await reading { connection, table in
            let (sql, binds) = Self.select("key, value, metadata, expiry, revision", from: table, query)
            return try await connection.query("EXPLAIN QUERY PLAN " + sql, binds)
        }
        return rows.compactMap { $0.column("detail")?.string }
    }

    /// The writer connection's journal mode and `synchronous` setting (2 is FULL) for `database`.
    package func pragmas(database: String) async throws -> (journalMode: String, synchronous: Int) {
        let file = try files.database(try StoreScope.validate(database, "database"))
        return try await file.withWriter(table: sql.table) { connection in
            let mode = try await connection.query("PRAGMA journal_mode").first?.column("journal_mode")?.string ?? ""
            let synchronous = try await connection.query("PRAGMA synchronous").first?.column("synchronous")?.integer ?? -1
            return (mode, Int(synchronous))
        }
    }

    /// The statement selecting `columns` of the live rows matching `query`: a range on the primary key
    /// for the prefix, the suffix compared as bytes, key order, limit and offset.
    static func select(_ columns: String, from table: String, _ query: StoreQuery) -> (String, [SQLiteData]) {
        var sql = "SELECT \(columns) FROM \(table) WHERE (expiry IS NULL OR expiry > ?)"
        var binds: [SQLiteData] = [.integer(SQLiteInt64(StoreClock.nowMilliseconds()))]
        if !query.prefix.isEmpty {
            sql += " AND key >= ?"
            binds.append(.text(query.prefix))
            if let bound = StoreKey.upperBound(ofPrefix: query.prefix) {
                sql += " AND key < ?"
                binds.append(.text(bound))
            }
        }
        if !query.suffix.isEmpty {
            let n = query.suffix.utf8.count
            sql += " AND length(CAST(key AS BLOB)) >= \(n) AND substr(CAST(key AS BLOB), -\(n)) = ?"
            binds.append(.blob(ByteBuffer(bytes: Array(query.suffix.utf8))))
        }
        sql += " ORDER BY key LIMIT ? OFFSET ?"
        binds.append(.integer(SQLiteInt64(query.limit ?? -1)))
        binds.append(.integer(SQLiteInt64(query.offset)))
        return (sql, binds)
    }

    // MARK: Writing

    public func write(_ write: StoreWrite) async throws -> UInt64 {
        try write.validate(limits)
        let metadata = StoreMetadataCoding.encode(write.metadata)
        return try await writing { connection, table, database in
            let now = StoreClock.nowMilliseconds()
            let expiry: SQLiteData = write.expiryMilliseconds(now: now).map { .integer(SQLiteInt64($0)) } ?? .null
            let value = SQLiteData.blob(ByteBuffer(bytes: write.value))
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                let revision = try await Self.nextRevision(connection)
                let row: [SQLiteRow]
                let binds: [SQLiteData] = [.text(write.key), value, .text(metadata), expiry, .integer(SQLiteInt64(revision))]
                switch write.condition {
                case .always:
                    row = try await connection.query(sql.write, binds)
                case .ifAbsent:
                    // Only an expired row may be replaced.
                    row = try await connection.query(sql.writeIfAbsent, binds + [.integer(SQLiteInt64(now))])
                case .ifRevision(let expected):
                    row = try await connection.query(sql.writeIfRevision, [
                        value, .text(metadata), expiry, .integer(SQLiteInt64(revision)), .text(write.key),
                        .integer(SQLiteInt64(exactly: expected) ?? -1), .integer(SQLiteInt64(now)),
                    ])
                }
                guard !row.isEmpty else {
                    let detail = try await conflictDetail(write.key, write.condition, now: now, connection)
                    try await connection.rollback()
                    throw StoreError(.conflict, detail)
                }
                _ = try await connection.query("COMMIT")
                try await database.confirmCommitReachedTheFile()
                await database.noteWrite(table: table, sweep: sql.sweep, on: connection)
                return revision
            } catch {
                try? await connection.rollback()
                throw error
            }
        }
    }

    public func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool {
        try StoreKey.validate(key)
        return try await writing { connection, _, database in
            let now = StoreClock.nowMilliseconds()
            if let ifRevision {
                let rows = try await connection.query(sql.deleteIfRevision,
                                                      [.text(key), .integer(SQLiteInt64(exactly: ifRevision) ?? -1), .integer(SQLiteInt64(now))])
                guard !rows.isEmpty else {
                    throw StoreError(.conflict, try await conflictDetail(key, .ifRevision(ifRevision), now: now, connection))
                }
                try await database.confirmCommitReachedTheFile()
                return true
            }
            let rows = try await connection.query(sql.delete, [.text(key)])
            guard let row = rows.first else { return false }
            try await database.confirmCommitReachedTheFile()
            switch row.column("expiry") {
            case .null?: return true
            case .integer(let expiry)?: return Int64(expiry) > now
            default: throw StoreError(.malformed, "the deleted row of '\(key)' has an expiry that is not an integer")
            }
        }
    }

    // MARK: Listing

    /// The databases: the `<name>.sqlite` files in the directory, in ascending order.
    public func databases() async throws -> [String] {
        let directory = files.configuration.directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StoreError(.unavailable, "cannot list the store directory \(directory): \(error.localizedDescription)")
        }
        return names.compactMap { name -> String? in
            guard name.hasSuffix(".sqlite") else { return nil }
            let database = String(name.dropLast(".sqlite".count))
            guard let valid = try? StoreScope.validate(database, "database"), valid == database else { return nil }
            return database
        }.sorted()
    }

    /// The store tables in this scope's database file, in ascending order (none when there is no file).
    public func tables() async throws -> [String] {
        let database = try database()
        guard FileManager.default.fileExists(atPath: database.path) else { return [] }
        do {
            let names = try await database.withWriterConnection { connection in
                try await connection.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").compactMap { $0.column("name")?.string }
            }
            return names.compactMap { name -> String? in
                guard name.hasPrefix("store_") else { return nil }
                let table = String(name.dropFirst("store_".count))
                guard let valid = try? StoreScope.validate(table, "table"), valid == table else { return nil }
                return table
            }.sorted()
        } catch {
            throw Self.storeError(error, path: database.path)
        }
    }

    // MARK: Plumbing

    /// Runs `body` on the reader connection of this scope's database, with its table's quoted name.
    private func reading<T: Sendable>(_ body: (SQLiteConnection, String) async throws -> T) async throws -> T {
        let table = sql.table
        let database = try database()
        do {
            return try await database.withReader(table: table) { try await body($0, table) }
        } catch {
            throw Self.storeError(error, path: database.path)
        }
    }

    /// Runs `body` on the writer connection of this scope's database, holding its write lock.
    private func writing<T: Sendable>(_ body: (SQLiteConnection, String, SQLiteStoreDatabase) async throws -> T) async throws -> T {
        let table = sql.table
        let database = try database()
        do {
            return try await database.withWriter(table: table) { try await body($0, table, database) }
        } catch {
            throw Self.storeError(error, path: database.path)
        }
    }

    /// This scope's database: the one looked up when the store was made, else (made after shutdown) a
    /// lookup that fails with ``StoreError/Code/unavailable``.
    private func database() throws -> SQLiteStoreDatabase {
        if let cachedDatabase { return cachedDatabase }
        return try files.database(scope.database)
    }

    /// The quoted SQL name of a store table (its name is validated: `[a-z0-9_-]`).
    static func tableName(_ table: String) -> String {
        "\"store_\(table)\""
    }

    static func nextRevision(_ connection: SQLiteConnection) async throws -> UInt64 {
        let rows = try await connection.query(SQLiteStoreStatements.nextRevision)
        guard case .integer(let value)? = rows.first?.column("revision"), value > 0 else {
            throw StoreError(.malformed, "the revision sequence of the database is missing or not a positive integer")
        }
        return UInt64(value)
    }

    /// Why a condition failed, read in the failing transaction.
    private func conflictDetail(_ key: String, _ condition: StoreCondition, now: Int64,
                                _ connection: SQLiteConnection) async throws -> String {
        let rows = try await connection.query(sql.currentRevision, [.text(key), .integer(SQLiteInt64(now))])
        let current = rows.first?.column("revision")?.integer
        switch (condition, current) {
        case (.ifAbsent, let revision?): return "'\(key)' exists (revision \(revision))"
        case (.ifRevision(let expected), let revision?): return "'\(key)' is at revision \(revision), not \(expected)"
        case (.ifRevision(let expected), nil): return "'\(key)' does not exist (expected revision \(expected))"
        default: return "the condition on '\(key)' failed"
        }
    }

    /// `error` as a ``StoreError``: SQLite's corruption errors are `malformed`, its other errors `unavailable`.
    static func storeError(_ error: any Error, path: String) -> any Error {
        if error is StoreError || error is CancellationError { return error }
        if let sqlite = error as? SQLiteError {
            switch sqlite.reason {
            case .corrupt, .notADatabase, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable, .format:
                return StoreError(.malformed, "\(path): \(sqlite.message)")
            default:
                return StoreError(.unavailable, "\(path): \(sqlite.message) (\(sqlite.reason))")
            }
        }
        return StoreError(.unavailable, "\(path): \(error)")
    }
}
