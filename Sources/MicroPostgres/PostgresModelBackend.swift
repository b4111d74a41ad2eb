import MicroCore
import PostgresNIO

/// A model as a PostgreSQL table (``PostgresModelTable``): a typed column per field, the key as primary
/// key, `micro_revision` from the table's sequence and a B-tree index per indexed field. Every write is
/// one statement — `INSERT ... ON CONFLICT DO NOTHING`, `UPDATE`/`DELETE ... WHERE key = $k [AND
/// micro_revision = $r]` — so a duplicate create or a moved-on revision fails atomically, across
/// processes too (an update waiting for a row lock re-checks its condition on the row it finally sees).
/// Filters, order, limit and offset are SQL with binds; a prefix is a range (`col >= $p AND col < $q`),
/// which a `COLLATE "C"` index answers.
struct PostgresModelBackend: ModelBackend {
    let client: PostgresStoreClient
    let table: PostgresModelTable

    private var layout: ModelLayout { table.layout }

    // MARK: Writing

    func create(key: ModelValue, values: [String: ModelValue], json: [UInt8]) async throws -> UInt64 {
        try check(values)
        let table = self.table
        return try await client.withSession(table, idempotent: false) { session in
            var binds = PostgresStoreBinds()
            let placeholders = table.layout.fields.map { binds.add(values[$0.name] ?? .null, as: $0) }
            let rows = try await session.query(binds.query("""
                INSERT INTO \(table.table) (\(table.columns)) VALUES (\(placeholders.joined(separator: ", ")), \(table.nextRevision))
                ON CONFLICT (\(table.key)) DO NOTHING RETURNING \(ModelLayout.revisionColumn)
                """))
            guard let row = rows.first else { throw StoreError(.conflict, "a \(table.layout.model) with key \(key) exists") }
            return try Self.revision(row, table.layout)
        }
    }

    func update(key: ModelValue, values: [String: ModelValue], json: [UInt8], ifRevision: UInt64?) async throws -> UInt64 {
        try check(values)
        let table = self.table
        return try await client.withSession(table, idempotent: false) { session in
            var binds = PostgresStoreBinds()
            let sets = table.layout.fields.filter { $0.name != table.layout.key.name }.map {
                PostgresModelTable.quote($0.name) + " = " + binds.add(values[$0.name] ?? .null, as: $0)
            } + ["\(ModelLayout.revisionColumn) = \(table.nextRevision)"]
            var sql = "UPDATE \(table.table) SET \(sets.joined(separator: ", ")) WHERE \(table.key) = \(binds.add(key, as: table.layout.key))"
            if let ifRevision { sql += " AND \(ModelLayout.revisionColumn) = \(binds.add(Int64(exactly: ifRevision) ?? -1))" }
            let rows = try await session.query(binds.query(sql + " RETURNING \(ModelLayout.revisionColumn)"))
            if let row = rows.first { return try Self.revision(row, table.layout) }
            // Why it failed, read after the fact (for the code and message; the update itself was atomic).
            if let ifRevision, let current = try await Self.currentRevision(key, table, session) {
                throw StoreError(.conflict, "the \(table.layout.model) with key \(key) is at revision \(current), not \(ifRevision)")
            }
            throw StoreError(.notFound, "no \(table.layout.model) with key \(key)")
        }
    }

    func delete(key: ModelValue, ifRevision: UInt64?) async throws -> Bool {
        let table = self.table
        return try await client.withSession(table, idempotent: false) { session in
            var binds = PostgresStoreBinds()
            var sql = "DELETE FROM \(table.table) WHERE \(table.key) = \(binds.add(key, as: table.layout.key))"
            if let ifRevision { sql += " AND \(ModelLayout.revisionColumn) = \(binds.add(Int64(exactly: ifRevision) ?? -1))" }
            let rows = try await session.query(binds.query(sql + " RETURNING \(ModelLayout.revisionColumn)"))
            if rows.isEmpty, let ifRevision {
                let current = try await Self.currentRevision(key, table, session)
                throw StoreError(.conflict, "no \(table.layout.model) with key \(key) at revision \(ifRevision)" + (current.map { " (it is at \($0))" } ?? " (there is none)"))
            }
            return !rows.isEmpty
        }
    }

    /// Refuses values PostgreSQL cannot hold: a NUL in a string (text never holds one), an integer
    /// field whose value does not fit a bigint.
    private func check(_ values: [String: ModelValue]) throws {
        for field in layout.fields {
            switch (field.kind, values[field.name]) {
            case (.string, .string(let s)?) where s.utf8.contains(0):
                throw StoreError(.invalidArgument, "\(layout.model)'s field '\(field.name)' holds a NUL character, which PostgreSQL's text cannot")
            case (.int, .double?):
                throw StoreError(.invalidArgument, "\(layout.model)'s field '\(field.name)' holds an integer beyond a 64-bit bigint")
            default: continue
            }
        }
    }

    // MARK: Reading

    func read(key: ModelValue) async throws -> ModelRow? {
        let table = self.table
        let rows = try await client.withSession(table, idempotent: true) { session in
            var binds = PostgresStoreBinds()
            let sql = "SELECT \(table.columns) FROM \(table.table) WHERE \(table.key) = \(binds.add(key, as: table.layout.key))"
            return try await session.query(binds.query(sql))
        }
        return try rows.first.map { try Self.row($0, layout) }
    }

    func list(_ query: ModelQuery) async throws -> [ModelRow] {
        let table = self.table
        let layout = self.layout
        return try await client.withSession(table, idempotent: true) { session in
            let (sql, binds) = Self.select(query, table)
            return try await session.query(binds.query(sql)).map { try Self.row($0, layout) }
        }
    }

    func count(_ predicates: [ModelPredicate]) async throws -> Int {
        let table = self.table
        let rows = try await client.withSession(table, idempotent: true) { session in
            var binds = PostgresStoreBinds()
            let clause = Self.whereClause(predicates, &binds)
            return try await session.query(binds.query("SELECT count(*) FROM \(table.table)\(clause)"))
        }
        guard let count = try rows.first?.decode(Int64.self) else { throw StoreError(.malformed, "count(*) gave no row") }
        return Int(count)
    }

    /// PostgreSQL's plan for the statement that answers `query` (`EXPLAIN`, one line per row).
    func queryPlan(_ query: ModelQuery) async throws -> [String] {
        let table = self.table
        let rows = try await client.withSession(table, idempotent: true) { session in
            let (sql, binds) = Self.select(query, table)
            return try await session.query(binds.query("EXPLAIN " + sql))
        }
        return try rows.map { try $0.decode(String.self) }
    }

    // MARK: SQL

    /// The `SELECT` answering `query` and its binds: ordered by the field (nil first when ascending, last
    /// when descending — both one direction of the field's index), then by key.
    private static func select(_ query: ModelQuery, _ table: PostgresModelTable) -> (String, PostgresStoreBinds) {
        var binds = PostgresStoreBinds()
        var sql = "SELECT \(table.columns) FROM \(table.table)" + whereClause(query.predicates, &binds) + " ORDER BY "
        if let by = query.order {
            sql += PostgresModelTable.quote(by.field.name) + (by.descending ? " DESC NULLS LAST, " : " ASC NULLS FIRST, ")
        }
        sql += table.key
        if let limit = query.limit { sql += " LIMIT \(binds.add(Int64(limit)))" }
        if query.offset > 0 { sql += " OFFSET \(binds.add(Int64(query.offset)))" }
        return (sql, binds)
    }

    /// ` WHERE ...` for `predicates` (empty for none), its values added to `binds`. `!=` keeps rows whose
    /// field is null (`IS DISTINCT FROM`), as the other backends do.
    static func whereClause(_ predicates: [ModelPredicate], _ binds: inout PostgresStoreBinds) -> String {
        var terms: [String] = []
        for p in predicates {
            let c = PostgresModelTable.quote(p.field.name)
            switch (p.op, p.value) {
            case (.equal, .null): terms.append("\(c) IS NULL")
            case (.notEqual, .null): terms.append("\(c) IS NOT NULL")
            case (.equal, _): terms.append("\(c) = \(binds.add(p.value, as: p.field))")
            case (.notEqual, _): terms.append("\(c) IS DISTINCT FROM \(binds.add(p.value, as: p.field))")
            case (.less, _): terms.append("\(c) < \(binds.add(p.value, as: p.field))")
            case (.lessOrEqual, _): terms.append("\(c) <= \(binds.add(p.value, as: p.field))")
            case (.greater, _): terms.append("\(c) > \(binds.add(p.value, as: p.field))")
            case (.greaterOrEqual, _): terms.append("\(c) >= \(binds.add(p.value, as: p.field))")
            case (.prefix, .string(let prefix)):
                terms.append("\(c) >= \(binds.add(prefix))")
                if let bound = StoreKey.upperBound(ofPrefix: prefix) { terms.append("\(c) < \(binds.add(bound))") }
            case (.prefix, _): terms.append("false")
            }
        }
        return terms.isEmpty ? "" : " WHERE " + terms.joined(separator: " AND ")
    }

    // MARK: Rows

    /// The current revision of the row with `key`, nil when there is none.
    private static func currentRevision(_ key: ModelValue, _ table: PostgresModelTable, _ session: PostgresStoreSession) async throws -> Int64? {
        var binds = PostgresStoreBinds()
        let sql = "SELECT \(ModelLayout.revisionColumn) FROM \(table.table) WHERE \(table.key) = \(binds.add(key, as: table.layout.key))"
        let rows = try await session.query(binds.query(sql))
        guard let row = rows.first else { return nil }
        return Int64(try revision(row, table.layout))
    }

    /// The positive revision in a `RETURNING micro_revision` row.
    private static func revision(_ row: PostgresRow, _ layout: ModelLayout) throws -> UInt64 {
        guard let cell = row.first, case .int(let revision) = try PostgresModelCell.value(cell, kind: .int, column: ModelLayout.revisionColumn, layout),
              revision > 0 else {
            throw StoreError(.malformed, "a \(layout.model) row has no positive revision")
        }
        return UInt64(revision)
    }

    /// A row of ``PostgresModelTable/columns`` as the model's JSON and revision, every cell checked
    /// against its field's kind. A null in a field that has a default reads as that default.
    private static func row(_ row: PostgresRow, _ layout: ModelLayout) throws -> ModelRow {
        let cells = Array(row)
        guard cells.count == layout.fields.count + 1 else {
            throw StoreError(.malformed, "a \(layout.model) row has \(cells.count) columns, not \(layout.fields.count + 1)")
        }
        var values: [String: ModelValue] = [:]
        for (field, cell) in zip(layout.fields, cells) {
            let value = try PostgresModelCell.value(cell, kind: field.kind, column: field.name, layout)
            if value == .null, layout.defaults[field.name] != nil { continue }
            values[field.name] = value
        }
        guard case .int(let revision) = try PostgresModelCell.value(cells[layout.fields.count], kind: .int, column: ModelLayout.revisionColumn, layout),
              revision > 0 else {
            throw StoreError(.malformed, "a \(layout.model) row has no positive revision")
        }
        return ModelRow(json: layout.json(from: values), revision: UInt64(revision))
    }
}

extension PostgresStoreBinds {
    /// Adds `value` as a column of `field`'s kind holds it and returns its placeholder (cast to `json`
    /// for nested values; an integer compared with a double field is bound as a double).
    mutating func add(_ value: ModelValue, as field: ModelLayout.Field) -> String {
        let placeholder: String
        switch (field.kind, value) {
        case (_, .null): placeholder = addNull()
        case (.double, .int(let i)): placeholder = add(Double(i))
        case (_, .int(let i)): placeholder = add(i)
        case (_, .double(let d)): placeholder = add(d)
        case (_, .bool(let b)): placeholder = add(b)
        case (_, .string(let s)), (_, .json(let s)): placeholder = add(s)
        }
        return field.kind == .json ? placeholder + "::json" : placeholder
    }
}
