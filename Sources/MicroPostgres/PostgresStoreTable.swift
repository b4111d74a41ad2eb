import MicroCore

/// The SQL names and statements of one store table: schema `<prefix><database>`, and in it the table
/// `t_<table>`, its revision sequence `s_<table>`, its primary key `k_<table>` and its expiry index
/// `e_<table>` (distinct prefixes, so no two store tables' relations can collide). An events table
/// (``PostgresEventStore``) is `ev_<table>` with its sequence `es_<table>`, its unique (topic, id)
/// constraint `eu_<table>` and its (topic, time) and (topic, seq) indexes `ei_`, `ej_<table>`.
///
/// Names are built only from validated scope names (`[a-z0-9_-]`) and a validated prefix, and always
/// quoted; every value goes into statements as a bind, never as text.
struct PostgresStoreTable: PostgresStoreRelation, Hashable {
    /// The quoted schema, `"store_micro"`.
    let schema: String
    /// The quoted, schema-qualified table, `"store_micro"."t_micro"`.
    let table: String
    /// The quoted, schema-qualified sequence, `"store_micro"."s_micro"`.
    let sequenceName: String
    /// The sequence's name as a `regclass` literal, `'"store_micro"."s_micro"'`.
    let sequence: String
    /// The primary key's index name, unquoted (as query plans show it).
    let keyIndex: String
    let scope: StoreScope
    /// Whether this is an events table rather than a records table.
    let events: Bool

    init(scope: StoreScope, prefix: String, events: Bool = false) {
        self.scope = scope
        self.events = events
        schema = "\"\(prefix)\(scope.database)\""
        table = "\(schema).\"\(events ? "ev" : "t")_\(scope.table)\""
        sequenceName = "\(schema).\"\(events ? "es" : "s")_\(scope.table)\""
        sequence = "'\(sequenceName)'"
        keyIndex = "\(events ? "eu" : "k")_\(scope.table)"
    }

    var setupID: String { table }

    /// Creates the sequence, table and expiry index, refusing a table whose sequence is gone.
    func setUp(_ session: PostgresStoreSession) async throws {
        try await refuseMissingSequence(table: table, sequence: sequenceName, session)
        for sql in creation { try await session.execute(sql) }
    }

    /// The statements creating the sequence, table and index, each safe to run again.
    var creation: [String] {
        if events { return eventCreation }
        return [
            "CREATE SEQUENCE IF NOT EXISTS \(sequenceName) AS bigint MINVALUE 1 NO CYCLE",
            """
            CREATE TABLE IF NOT EXISTS \(table) (
                key text COLLATE "C" NOT NULL,
                value bytea NOT NULL,
                metadata text NOT NULL,
                expiry bigint,
                revision bigint NOT NULL,
                CONSTRAINT "k_\(scope.table)" PRIMARY KEY (key)
            )
            """,
            "CREATE INDEX IF NOT EXISTS \"e_\(scope.table)\" ON \(table) (expiry) WHERE expiry IS NOT NULL",
        ]
    }

    /// The statements creating an events table: one row per event, unique by (topic, id), indexed by
    /// (topic, time) for reads and (topic, seq) for retention by count.
    private var eventCreation: [String] {
        [
            "CREATE SEQUENCE IF NOT EXISTS \(sequenceName) AS bigint MINVALUE 1 NO CYCLE",
            """
            CREATE TABLE IF NOT EXISTS \(table) (
                seq bigint NOT NULL,
                topic text COLLATE "C" NOT NULL,
                id text COLLATE "C" NOT NULL,
                time bigint NOT NULL,
                metadata text NOT NULL,
                payload bytea NOT NULL,
                CONSTRAINT "\(keyIndex)" UNIQUE (topic, id)
            )
            """,
            "CREATE INDEX IF NOT EXISTS \"ei_\(scope.table)\" ON \(table) (topic, time, seq)",
            "CREATE INDEX IF NOT EXISTS \"ej_\(scope.table)\" ON \(table) (topic, seq)",
        ]
    }

    static let columns = "key, value, metadata, expiry, revision"

    /// `$1` key, `$2` now.
    var readOne: String {
        "SELECT \(Self.columns) FROM \(table) WHERE key = $1 AND (expiry IS NULL OR expiry > $2)"
    }

    /// The first half of the advisory lock a write or delete of a key of this table holds (the key's
    /// `hashtext` is the second): FNV-1a of the table's name.
    var lockClass: Int32 {
        Int32(bitPattern: table.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 })
    }

    /// `$1` key, `$2` value, `$3` metadata, `$4` expiry; for ``StoreCondition/ifAbsent`` `$5` now. The
    /// revision is drawn from the sequence after the row is locked, so a later write of a key always
    /// gets a higher revision than the one it replaces.
    ///
    /// An insert draws its revision before it meets a conflicting row, and when that row is deleted
    /// while the insert waits for it, PostgreSQL inserts after all with the revision drawn before,
    /// lower than the deleted row's. So the revision is drawn holding the key's advisory lock
    /// (``lockClass``, `hashtext(key)`), which every delete takes before deleting: no row of the
    /// key can be deleted between the draw and the insert.
    func upsert(ifAbsent: Bool) -> String {
        """
        INSERT INTO \(table) AS t (key, value, metadata, expiry, revision) VALUES ($1, $2, $3, $4,
        (SELECT nextval(\(sequence)) FROM pg_advisory_xact_lock(\(lockClass), hashtext($1))))
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, expiry = excluded.expiry,
        revision = nextval(\(sequence))\(ifAbsent ? " WHERE t.expiry IS NOT NULL AND t.expiry <= $5" : "") RETURNING revision
        """
    }

    /// The advisory lock of key `$1` (see ``upsert(ifAbsent:)``), as a CTE to join a delete with.
    private var keyLock: String {
        "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(\(lockClass), hashtext($1)))"
    }

    /// `$1` key, `$2` value, `$3` metadata, `$4` expiry, `$5` expected revision, `$6` now.
    var updateIfRevision: String {
        """
        UPDATE \(table) SET value = $2, metadata = $3, expiry = $4, revision = nextval(\(sequence))
        WHERE key = $1 AND revision = $5 AND (expiry IS NULL OR expiry > $6) RETURNING revision
        """
    }

    /// `$1` key. The key's advisory lock is taken before the row is deleted.
    var delete: String { "\(keyLock) DELETE FROM \(table) USING l WHERE key = $1 RETURNING expiry" }

    /// `$1` key, `$2` revision, `$3` now. The key's advisory lock is taken before the row is deleted.
    var deleteIfRevision: String {
        "\(keyLock) DELETE FROM \(table) USING l WHERE key = $1 AND revision = $2 AND (expiry IS NULL OR expiry > $3) RETURNING revision"
    }

    /// `$1` now. Rows whose key's advisory lock a write holds are left for the next sweep.
    var sweep: String {
        "DELETE FROM \(table) WHERE expiry IS NOT NULL AND expiry <= $1 AND pg_try_advisory_xact_lock(\(lockClass), hashtext(key))"
    }

    /// The statement selecting `columns` of the live rows matching `query` and its binds: a range on
    /// the primary key for the prefix (`key >= prefix AND key < bound`, byte order under `COLLATE "C"`),
    /// the suffix compared on the key's last characters, key order, limit and offset.
    func select(_ columns: String, _ query: StoreQuery, now: Int64) -> (sql: String, binds: PostgresStoreBinds) {
        var binds = PostgresStoreBinds()
        var sql = "SELECT \(columns) FROM \(table) WHERE (expiry IS NULL OR expiry > \(binds.add(now)))"
        if !query.prefix.isEmpty {
            sql += " AND key >= \(binds.add(query.prefix))"
            if let bound = StoreKey.upperBound(ofPrefix: query.prefix) {
                sql += " AND key < \(binds.add(bound))"
            }
        }
        if !query.suffix.isEmpty {
            // A UTF-8 suffix of a UTF-8 key starts on a character boundary, so comparing the key's last
            // characters compares its last bytes.
            sql += " AND right(key, \(binds.add(Int64(query.suffix.unicodeScalars.count)))::int) = \(binds.add(query.suffix))"
        }
        sql += " ORDER BY key"
        if let limit = query.limit { sql += " LIMIT \(binds.add(Int64(limit)))" }
        if query.offset > 0 { sql += " OFFSET \(binds.add(Int64(query.offset)))" }
        return (sql, binds)
    }
}
