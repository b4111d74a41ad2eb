import MicroCore
import NIOCore
import SQLiteNIO

/// A model as a SQLite table (`model_<table>`): a column per field, typed from the field's kind
/// (integers and booleans `INTEGER`, doubles and dates `REAL` — a date as seconds since 2001, as Codable
/// writes it —, strings `TEXT`, nested values JSON `TEXT`), the key as primary key, `micro_revision`
/// from the database's revision sequence, and an index per indexed field. Filters, order, limit and
/// offset are SQL with binds. On first use in a process the table is created, and a field the table
/// lacks is added (`ALTER TABLE ADD COLUMN`, with the schema's default if any), so rows written before
/// a field was added to the model read back.
struct SQLiteModelBackend: ModelBackend {
    let files: SQLiteStoreFiles
    let database: SQLiteStoreDatabase
    let layout: ModelLayout

    /// The quoted table name.
    var table: String { "\"model_\(layout.table)\"" }

    private static func column(_ name: String) -> String { "\"\(name)\"" }

    private var columns: String {
        (layout.fields.map { Self.column($0.name) } + [ModelLayout.revisionColumn]).joined(separator: ", ")
    }

    // MARK: Schema

    private static func sqlType(_ kind: ModelFieldKind) -> String {
        switch kind {
        case .int, .bool: return "INTEGER"
        case .double: return "REAL"
        case .string, .json: return "TEXT"
        }
    }

    /// A SQL literal of `value` (schema defaults, in `ALTER TABLE ... DEFAULT`).
    private static func literal(_ value: ModelValue) -> String {
        switch value {
        case .null: return "NULL"
        case .bool(let b): return b ? "1" : "0"
        case .int(let i): return "\(i)"
        case .double(let d): return d.isFinite ? "\(d)" : "NULL"
        case .string(let s), .json(let s): return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
        }
    }

    /// Creates or migrates the table once per store, database and set of fields.
    private func prepare() async throws {
        let signature = "\(database.path)|\(layout.table)|" + layout.fields.map { "\($0.name):\($0.kind)" }.joined(separator: ",")
            + "|" + layout.indexes.map(\.name).joined(separator: ",")
        if files.preparedModels.withLockedValue({ $0.contains(signature) }) { return }
        try await run(writing: true) { connection in
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                let definitions = layout.fields.map { field in
                    Self.column(field.name) + " " + Self.sqlType(field.kind) + (field.name == layout.key.name ? " PRIMARY KEY NOT NULL" : "")
                }
                _ = try await connection.query("""
                    CREATE TABLE IF NOT EXISTS \(table) (\((definitions + ["\(ModelLayout.revisionColumn) INTEGER NOT NULL"]).joined(separator: ", "))) WITHOUT ROWID
                    """)
                let existing = Set(try await connection.query("PRAGMA table_info(\(table))").compactMap { $0.column("name")?.string?.lowercased() })
                for field in layout.fields where !existing.contains(field.name.lowercased()) {
                    let defaultClause = layout.defaults[field.name].map { " DEFAULT " + Self.literal($0) } ?? ""
                    _ = try await connection.query("ALTER TABLE \(table) ADD COLUMN \(Self.column(field.name)) \(Self.sqlType(field.kind))\(defaultClause)")
                }
                for field in layout.indexes {
                    _ = try await connection.query("CREATE INDEX IF NOT EXISTS \"model_\(layout.table)__\(field.name)\" ON \(table) (\(Self.column(field.name)))")
                }
                _ = try await connection.query("COMMIT")
            } catch {
                try? await connection.rollback()
                throw error
            }
        }
        files.preparedModels.withLockedValue { _ = $0.insert(signature) }
    }

    // MARK: Values

    private static func bind(_ value: ModelValue?) -> SQLiteData {
        switch value ?? .null {
        case .null: return .null
        case .bool(let b): return .integer(b ? 1 : 0)
        case .int(let i): return .integer(SQLiteInt64(i))
        case .double(let d): return .float(d)
        case .string(let s), .json(let s): return .text(s)
        }
    }

    private func value(_ data: SQLiteData?, of field: ModelLayout.Field) throws -> ModelValue {
        switch (field.kind, data ?? .null) {
        case (_, .null): return .null
        case (.int, .integer(let i)): return .int(Int64(i))
        case (.int, .float(let d)), (.double, .float(let d)): return .double(d)
        case (.double, .integer(let i)): return .double(Double(i))
        case (.bool, .integer(let i)): return .bool(i != 0)
        case (.string, .text(let s)): return .string(s)
        case (.json, .text(let s)): return .json(s)
        default:
            throw StoreError(.malformed, "column '\(field.name)' of a \(layout.model) row in \(database.path) does not hold \(field.kind == .int ? "an" : "a") \(field.kind)")
        }
    }

    private func row(_ row: SQLiteRow) throws -> ModelRow {
        var values: [String: ModelValue] = [:]
        for field in layout.fields { values[field.name] = try value(row.column(field.name), of: field) }
        guard case .integer(let revision)? = row.column(ModelLayout.revisionColumn), revision > 0 else {
            throw StoreError(.malformed, "a \(layout.model) row in \(database.path) has no positive revision")
        }
        return ModelRow(json: layout.json(from: values), revision: UInt64(revision))
    }

    // MARK: Writing

    func create(key: ModelValue, values: [String: ModelValue], json: [UInt8]) async throws -> UInt64 {
        try await prepare()
        return try await transaction { connection in
            let revision = try await SQLiteStore.nextRevision(connection)
            let placeholders = Array(repeating: "?", count: layout.fields.count + 1).joined(separator: ", ")
            let rows = try await connection.query(
                "INSERT INTO \(table) (\(columns)) VALUES (\(placeholders)) ON CONFLICT DO NOTHING RETURNING \(ModelLayout.revisionColumn)",
                layout.fields.map { Self.bind(values[$0.name]) } + [.integer(SQLiteInt64(revision))])
            guard !rows.isEmpty else { throw StoreError(.conflict, "a \(layout.model) with key \(key) exists") }
            return revision
        }
    }

    func update(key: ModelValue, values: [String: ModelValue], json: [UInt8], ifRevision: UInt64?) async throws -> UInt64 {
        try await prepare()
        return try await transaction { connection in
            let revision = try await SQLiteStore.nextRevision(connection)
            let sets = (layout.fields.map { Self.column($0.name) + " = ?" } + ["\(ModelLayout.revisionColumn) = ?"]).joined(separator: ", ")
            var sql = "UPDATE \(table) SET \(sets) WHERE \(Self.column(layout.key.name)) = ?"
            var binds = layout.fields.map { Self.bind(values[$0.name]) } + [.integer(SQLiteInt64(revision)), Self.bind(key)]
            if let ifRevision {
                sql += " AND \(ModelLayout.revisionColumn) = ?"
                binds.append(.integer(SQLiteInt64(exactly: ifRevision) ?? -1))
            }
            let rows = try await connection.query(sql + " RETURNING \(ModelLayout.revisionColumn)", binds)
            guard rows.isEmpty else { return revision }
            let current = try await connection.query("SELECT \(ModelLayout.revisionColumn) FROM \(table) WHERE \(Self.column(layout.key.name)) = ?", [Self.bind(key)])
            guard let found = current.first?.column(ModelLayout.revisionColumn)?.integer else {
                throw StoreError(.notFound, "no \(layout.model) with key \(key)")
            }
            throw StoreError(.conflict, "the \(layout.model) with key \(key) is at revision \(found), not \(ifRevision ?? 0)")
        }
    }

    func delete(key: ModelValue, ifRevision: UInt64?) async throws -> Bool {
        try await prepare()
        return try await run(writing: true) { connection in
            var sql = "DELETE FROM \(table) WHERE \(Self.column(layout.key.name)) = ?"
            var binds = [Self.bind(key)]
            if let ifRevision {
                sql += " AND \(ModelLayout.revisionColumn) = ?"
                binds.append(.integer(SQLiteInt64(exactly: ifRevision) ?? -1))
            }
            let deleted = try await connection.query(sql + " RETURNING \(ModelLayout.revisionColumn)", binds)
            if deleted.isEmpty, let ifRevision {
                throw StoreError(.conflict, "no \(layout.model) with key \(key) at revision \(ifRevision)")
            }
            return !deleted.isEmpty
        }
    }

    // MARK: Reading

    func read(key: ModelValue) async throws -> ModelRow? {
        try await prepare()
        let rows = try await run(writing: false) { connection in
            try await connection.query("SELECT \(columns) FROM \(table) WHERE \(Self.column(layout.key.name)) = ?", [Self.bind(key)])
        }
        return try rows.first.map(row)
    }

    func list(_ query: ModelQuery) async throws -> [ModelRow] {
        try await prepare()
        let (sql, binds) = select(query)
        let rows = try await run(writing: false) { connection in try await connection.query(sql, binds) }
        return try rows.map(row)
    }

    func count(_ predicates: [ModelPredicate]) async throws -> Int {
        try await prepare()
        let (clause, binds) = Self.whereClause(predicates)
        let rows = try await run(writing: false) { connection in
            try await connection.query("SELECT count(*) AS n FROM \(table)\(clause)", binds)
        }
        return rows.first?.column("n")?.integer ?? 0
    }

    /// SQLite's plan for the statement `query` runs (one line per step), to show which index it uses.
    func queryPlan(_ query: ModelQuery) async throws -> [String] {
        try await prepare()
        let (sql, binds) = select(query)
        let rows = try await run(writing: false) { connection in try await connection.query("EXPLAIN QUERY PLAN " + sql, binds) }
        return rows.compactMap { $0.column("detail")?.string }
    }

    private func select(_ query: ModelQuery) -> (String, [SQLiteData]) {
        let (clause, binds) = Self.whereClause(query.predicates)
        let key = Self.column(layout.key.name)
        var order = "ORDER BY \(key)"
        if let by = query.order {
            order = "ORDER BY \(Self.column(by.field.name))\(by.descending ? " DESC" : ""), \(key)"
        }
        return ("SELECT \(columns) FROM \(table)\(clause) \(order) LIMIT ? OFFSET ?",
                binds + [.integer(SQLiteInt64(query.limit ?? -1)), .integer(SQLiteInt64(query.offset))])
    }

    /// ` WHERE ...` for `predicates` (empty for none), with its binds. `!=` keeps rows whose field is
    /// null (`IS NOT`), as the other backends do; string comparisons are byte order (`BINARY`).
    static func whereClause(_ predicates: [ModelPredicate]) -> (String, [SQLiteData]) {
        var terms: [String] = []
        var binds: [SQLiteData] = []
        for p in predicates {
            let c = column(p.field.name)
            switch (p.op, p.value) {
            case (.equal, .null): terms.append("\(c) IS NULL")
            case (.notEqual, .null): terms.append("\(c) IS NOT NULL")
            case (.equal, _): terms.append("\(c) = ?"); binds.append(bind(p.value))
            case (.notEqual, _): terms.append("\(c) IS NOT ?"); binds.append(bind(p.value))
            case (.less, _): terms.append("\(c) < ?"); binds.append(bind(p.value))
            case (.lessOrEqual, _): terms.append("\(c) <= ?"); binds.append(bind(p.value))
            case (.greater, _): terms.append("\(c) > ?"); binds.append(bind(p.value))
            case (.greaterOrEqual, _): terms.append("\(c) >= ?"); binds.append(bind(p.value))
            case (.prefix, .string(let prefix)):
                terms.append("\(c) >= ?")
                binds.append(.text(prefix))
                if let bound = StoreKey.upperBound(ofPrefix: prefix) {
                    terms.append("\(c) < ?")
                    binds.append(.text(bound))
                }
            case (.prefix, _): terms.append("0")
            }
        }
        return (terms.isEmpty ? "" : " WHERE " + terms.joined(separator: " AND "), binds)
    }

    // MARK: Plumbing

    private func run<T: Sendable>(writing: Bool, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        do {
            return writing ? try await database.withWriterConnection(body) : try await database.withReaderConnection(body)
        } catch {
            throw SQLiteStore.storeError(error, path: database.path)
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction on the writer, rolled back when it throws.
    private func transaction<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try await run(writing: true) { connection in
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                let result = try await body(connection)
                _ = try await connection.query("COMMIT")
                return result
            } catch {
                try? await connection.rollback()
                throw error
            }
        }
    }
}
