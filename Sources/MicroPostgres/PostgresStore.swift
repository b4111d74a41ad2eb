import Logging
import MicroCore
import NIOCore
import PostgresNIO

/// The store on PostgreSQL (`MICRO_STORE=postgres`, `MICRO_STORE_ADDRESS=postgres://user:password@host:port/db`),
/// on postgres-nio's pooled `PostgresClient`.
///
/// Each store database is a schema (`store_<database>`), each store table a table in it with its own
/// revision sequence: `key text COLLATE "C"` as primary key (so key order is byte order and prefix
/// reads are range scans of its index, `key >= prefix AND key < bound`), `value bytea`, `metadata`
/// (JSON text), `expiry bigint` (ms since 1970) and `revision bigint`. Every write is one statement —
/// an upsert, or an update or delete guarded by its condition — so conditions hold atomically across
/// processes; revisions come from the table's sequence, drawn after the row is locked, so they rise on
/// every write of a key and are never reused, deletes included. A write returns once PostgreSQL has
/// committed it. Rows are checked as they are read: one that is not a record is
/// ``StoreError/Code/malformed``.
///
/// The pool connects on first use and runs until ``shutdown()`` (what ``run()`` ends with under a
/// `ServiceGroup`). While the server is down, operations fail with ``StoreError/Code/unavailable``
/// within ``PostgresStoreConfiguration/operationTimeout``; once it is back the same store works again.
public final class PostgresStore: Store {
    /// Always `postgres`.
    public let name = "postgres"
    public let scope: StoreScope
    let client: PostgresStoreClient
    private let table: PostgresStoreTable

    /// A store on the server `configuration` names, bound to `scope`. Nothing connects until the
    /// first operation; a configuration out of range (``PostgresStoreConfiguration/validate()``)
    /// throws a `ConfigurationError`.
    public init(configuration: PostgresStoreConfiguration, scope: StoreScope = .default,
                logger: Logger = Logger(label: "micro.store.postgres")) throws {
        try configuration.validate()
        self.client = PostgresStoreClient(configuration: configuration, logger: logger)
        self.scope = scope
        self.table = PostgresStoreTable(scope: scope, prefix: configuration.schemaPrefix)
    }

    /// A store on the server at `url` (`postgres://user:password@host:port/database`).
    public convenience init(url: String, limits: StoreLimits = StoreLimits(), operationTimeout: Duration = .seconds(10),
                            scope: StoreScope = .default) throws {
        try self.init(configuration: try PostgresStoreConfiguration(url: url, limits: limits, operationTimeout: operationTimeout), scope: scope)
    }

    private init(client: PostgresStoreClient, scope: StoreScope) {
        self.client = client
        self.scope = scope
        self.table = PostgresStoreTable(scope: scope, prefix: client.configuration.schemaPrefix)
    }

    public var limits: StoreLimits { client.configuration.limits }

    /// The server's configuration.
    public var configuration: PostgresStoreConfiguration { client.configuration }

    /// The quoted, schema-qualified SQL name of this scope's table (`"store_micro"."t_micro"`).
    public var tableName: String { table.table }

    /// The statements a read by key, a write and a write at a revision of this scope run, with their
    /// binds' order: for benchmarks that run the same statements on the raw driver.
    package var statements: (read: String, write: String, writeIfRevision: String) {
        (table.readOne, table.upsert(ifAbsent: false), table.updateIfRevision)
    }

    /// The statements a write if absent (`$1` key, `$2` value, `$3` metadata, `$4` expiry, `$5` now) and a
    /// delete at a revision (`$1` key, `$2` revision, `$3` now) run: a ``StoreSync`` lock and release.
    package var lockStatements: (acquire: String, release: String) {
        (table.upsert(ifAbsent: true), table.deleteIfRevision)
    }

    public func scoped(_ scope: StoreScope) -> any Store {
        PostgresStore(client: client, scope: scope)
    }

    /// Closes every connection of every scope of this store; later operations fail with
    /// ``StoreError/Code/unavailable``.
    public func shutdown() async {
        await client.close()
    }

    // MARK: Reading

    public func read(_ key: String) async throws -> StoreRecord? {
        try StoreKey.validate(key)
        let table = self.table
        let rows = try await client.withSession(table, idempotent: true) { session in
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(key)
            bindings.append(StoreClock.nowMilliseconds())
            return try await session.query(PostgresQuery(unsafeSQL: table.readOne, binds: bindings))
        }
        guard let row = rows.first else { return nil }
        return try PostgresRecordDecoding.record(row)
    }

    public func read(_ query: StoreQuery) async throws -> [StoreRecord] {
        try query.validate()
        return try await select(PostgresStoreTable.columns, query).map(PostgresRecordDecoding.record)
    }

    public func list(_ query: StoreQuery) async throws -> [String] {
        try query.validate()
        return try await select("key", query).map(PostgresRecordDecoding.key)
    }

    /// PostgreSQL's plan for the statement a read of `query` runs (`EXPLAIN`, one line per row), to
    /// show which index it uses; with `preferIndex`, sequential scans are disabled for that statement.
    package func queryPlan(_ query: StoreQuery, preferIndex: Bool = false) async throws -> [String] {
        let table = self.table
        let rows = try await client.withSession(table, idempotent: true) { session in
            let (sql, binds) = table.select(PostgresStoreTable.columns, query, now: StoreClock.nowMilliseconds())
            try await session.execute("BEGIN")
            do {
                if preferIndex { try await session.execute("SET LOCAL enable_seqscan = off") }
                let rows = try await session.query(PostgresQuery(unsafeSQL: "EXPLAIN " + sql, binds: binds.bindings))
                try await session.execute("COMMIT")
                return rows
            } catch {
                _ = try? await session.execute("ROLLBACK")
                throw error
            }
        }
        return try rows.map { try $0.decode(String.self) }
    }

    private func select(_ columns: String, _ query: StoreQuery) async throws -> [PostgresRow] {
        let table = self.table
        return try await client.withSession(table, idempotent: true) { session in
            let (sql, binds) = table.select(columns, query, now: StoreClock.nowMilliseconds())
            return try await session.query(binds.query(sql))
        }
    }

    // MARK: Writing

    public func write(_ write: StoreWrite) async throws -> UInt64 {
        try write.validate(limits)
        let metadata = StoreMetadataCoding.encode(write.metadata)
        let table = self.table
        let client = self.client
        return try await client.withSession(table, idempotent: false) { session in
            let now = StoreClock.nowMilliseconds()
            var bindings = PostgresBindings(capacity: 6)
            bindings.append(write.key)
            bindings.append(ByteBuffer(bytes: write.value))
            bindings.append(metadata)
            bindings.append(write.expiryMilliseconds(now: now))
            let sql: String
            switch write.condition {
            case .always:
                sql = table.upsert(ifAbsent: false)
            case .ifAbsent:
                // Only an expired row may be replaced.
                sql = table.upsert(ifAbsent: true)
                bindings.append(now)
            case .ifRevision(let expected):
                sql = table.updateIfRevision
                bindings.append(Int64(exactly: expected) ?? -1)
                bindings.append(now)
            }
            let rows = try await session.query(PostgresQuery(unsafeSQL: sql, binds: bindings))
            guard let row = rows.first else {
                throw StoreError(.conflict, try await Self.conflictDetail(write.key, write.condition, table: table, now: now, session))
            }
            let revision = try PostgresRecordDecoding.revision(row, key: write.key)
            if client.noteWrite(table) { await Self.sweep(table, session) }
            return revision
        }
    }

    public func delete(_ key: String, ifRevision: UInt64?) async throws -> Bool {
        try StoreKey.validate(key)
        let table = self.table
        return try await client.withSession(table, idempotent: false) { session in
            let now = StoreClock.nowMilliseconds()
            var binds = PostgresStoreBinds()
            _ = binds.add(key)
            if let ifRevision {
                _ = binds.add(Int64(exactly: ifRevision) ?? -1)
                _ = binds.add(now)
                let rows = try await session.query(binds.query(table.deleteIfRevision))
                guard !rows.isEmpty else {
                    throw StoreError(.conflict, try await Self.conflictDetail(key, .ifRevision(ifRevision), table: table, now: now, session))
                }
                return true
            }
            let rows = try await session.query(binds.query(table.delete))
            guard let row = rows.first else { return false }
            guard let expiry = try PostgresRecordDecoding.expiry(row, key: key) else { return true }
            return expiry > now
        }
    }

    // MARK: Listing

    /// The databases: the schemas named with the configuration's prefix that hold a store table
    /// (`t_<table>`), in ascending order. (This scope's own table is set up first, as by any operation.)
    public func databases() async throws -> [String] {
        let prefix = client.configuration.schemaPrefix
        let rows = try await client.withSession(table, idempotent: true) { session in
            var binds = PostgresStoreBinds()
            _ = binds.add(prefix)
            return try await session.query(binds.query("""
                SELECT DISTINCT n.nspname::text FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
                WHERE c.relkind = 'r' AND left(n.nspname, length($1)) = $1 AND left(c.relname, 2) = 't_'
                """))
        }
        return Self.names(try rows.map(PostgresRecordDecoding.key), droppingPrefix: prefix)
    }

    /// The store tables of this scope's database (the `t_<table>` tables of its schema), in ascending order.
    public func tables() async throws -> [String] {
        let schema = client.configuration.schemaPrefix + scope.database
        let rows = try await client.withSession(table, idempotent: true) { session in
            var binds = PostgresStoreBinds()
            _ = binds.add(schema)
            return try await session.query(binds.query("""
                SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
                WHERE c.relkind = 'r' AND n.nspname = $1 AND left(c.relname, 2) = 't_'
                """))
        }
        return Self.names(try rows.map(PostgresRecordDecoding.key), droppingPrefix: "t_")
    }

    /// The scope names among `names` once `prefix` is dropped (names no scope could have are left out),
    /// in ascending byte order.
    private static func names(_ names: [String], droppingPrefix prefix: String) -> [String] {
        names.compactMap { name -> String? in
            guard name.hasPrefix(prefix) else { return nil }
            let scopeName = String(name.dropFirst(prefix.count))
            guard let valid = try? StoreScope.validate(scopeName, "name"), valid == scopeName else { return nil }
            return scopeName
        }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    // MARK: Plumbing

    /// Why a condition failed, read right after it did (for the message only: the write itself was atomic).
    private static func conflictDetail(_ key: String, _ condition: StoreCondition, table: PostgresStoreTable, now: Int64,
                                       _ session: PostgresStoreSession) async throws -> String {
        var binds = PostgresStoreBinds()
        _ = binds.add(key)
        _ = binds.add(now)
        let rows = try await session.query(binds.query("SELECT revision FROM \(table.table) WHERE key = $1 AND (expiry IS NULL OR expiry > $2)"))
        let current = try rows.first.map { try PostgresRecordDecoding.revision($0, key: key) }
        let printable = StoreKey.printable(key)
        switch (condition, current) {
        case (.ifAbsent, let revision?): return "'\(printable)' exists (revision \(revision))"
        case (.ifRevision(let expected), let revision?): return "'\(printable)' is at revision \(revision), not \(expected)"
        case (.ifRevision(let expected), nil): return "'\(printable)' does not exist (expected revision \(expected))"
        default: return "the condition on '\(printable)' failed"
        }
    }

    /// Deletes `table`'s expired rows (through the expiry index); a failure only costs space.
    private static func sweep(_ table: PostgresStoreTable, _ session: PostgresStoreSession) async {
        var binds = PostgresStoreBinds()
        _ = binds.add(StoreClock.nowMilliseconds())
        do {
            _ = try await session.query(binds.query(table.sweep))
        } catch {
            session.logger.debug("sweep of expired rows failed", metadata: ["table": "\(table.table)", "error": "\(error)"])
        }
    }
}
