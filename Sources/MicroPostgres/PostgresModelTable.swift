import MicroCore

/// The SQL names, column types and set-up of one model's table, in the schema of its store database:
/// table `m_<table>`, its revision sequence `ms_<table>`, its primary key `mk_<table>` and an index
/// per indexed field, `mi_<table>.<field>` (`mh_<start>_<hash>` when that is longer than PostgreSQL's
/// 63-byte identifiers). The second character tells these apart, and the first tells them from a store
/// table's relations (`t_`, `s_`, `k_`, `e_`) and an events table's (`ev_`, `es_`, `eu_`, `ei_`, `ej_`);
/// `.` occurs in no table or field name, so no two models' index names meet.
///
/// Names are built only from validated table and field names and always quoted; values go into
/// statements as binds, except a schema default in `ALTER TABLE ... DEFAULT` (a literal checked here).
struct PostgresModelTable: PostgresStoreRelation {
    let layout: ModelLayout
    /// The quoted schema, `"store_micro"`.
    let schema: String
    /// The quoted, schema-qualified table, `"store_micro"."m_people"`.
    let table: String
    /// The quoted, schema-qualified sequence.
    let sequenceName: String
    /// The field columns and the revision column, quoted, in the layout's order (what rows are read as).
    let columns: String
    let setupID: String

    init(layout: ModelLayout, database: String, prefix: String) {
        self.layout = layout
        schema = "\"\(prefix)\(database)\""
        table = "\(schema).\"m_\(layout.table)\""
        sequenceName = "\(schema).\"ms_\(layout.table)\""
        columns = (layout.fields.map { Self.quote($0.name) } + [ModelLayout.revisionColumn]).joined(separator: ", ")
        // A new version of the model type (fields, kinds, indexes, defaults) is set up again.
        setupID = table + "|" + layout.fields.map { "\($0.name):\($0.kind)" }.joined(separator: ",") + "|"
            + layout.indexes.map(\.name).joined(separator: ",") + "|" + layout.defaults.keys.sorted().map { "\($0)=\(layout.defaults[$0]!)" }.joined(separator: ",")
    }

    /// `name` quoted (table and field names hold only `[A-Za-z0-9_-]`).
    static func quote(_ name: String) -> String { "\"\(name)\"" }

    /// The quoted key column.
    var key: String { Self.quote(layout.key.name) }

    /// `nextval` of the revision sequence.
    var nextRevision: String { "nextval('\(sequenceName)')" }

    /// The column type of a field: strings in byte order (`COLLATE "C"`, so comparisons and prefix
    /// ranges agree with Swift's on UTF-8 and use the index), nested values as `json` (kept as written).
    static func columnType(_ kind: ModelFieldKind) -> String {
        switch kind {
        case .int: return "bigint"
        case .double: return "double precision"
        case .string: return "text COLLATE \"C\""
        case .bool: return "boolean"
        case .json: return "json"
        }
    }

    /// The type `format_type` names for a column made by ``columnType(_:)``.
    private static func typeName(_ kind: ModelFieldKind) -> String {
        switch kind {
        case .string: return "text"
        default: return columnType(kind)
        }
    }

    /// The unquoted name of `field`'s index.
    func indexName(_ field: ModelLayout.Field) -> String {
        let name = "mi_\(layout.table).\(field.name)"
        if name.utf8.count <= 63 { return name }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a: the same in every process
        for byte in "\(layout.table).\(field.name)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "mh_\(String(layout.table.prefix(40)))_\(String(repeating: "0", count: 16 - hex.count))\(hex)"
    }

    // MARK: Set-up

    /// Creates the sequence, the table and its indexes; a field the table lacks becomes a column (with
    /// the schema's default, so rows written before have it); a column of another type than its field
    /// is ``StoreError/Code/invalidArgument``.
    func setUp(_ session: PostgresStoreSession) async throws {
        try await refuseMissingSequence(table: table, sequence: sequenceName, session)
        try await session.execute("SET LOCAL standard_conforming_strings = on")
        try await session.execute("CREATE SEQUENCE IF NOT EXISTS \(sequenceName) AS bigint MINVALUE 1 NO CYCLE")
        let definitions = layout.fields.map { field in
            Self.quote(field.name) + " " + Self.columnType(field.kind) + (field.name == layout.key.name ? " NOT NULL" : "")
        } + ["\(ModelLayout.revisionColumn) bigint NOT NULL", "CONSTRAINT \"mk_\(layout.table)\" PRIMARY KEY (\(key))"]
        try await session.execute("CREATE TABLE IF NOT EXISTS \(table) (\(definitions.joined(separator: ", ")))")
        var binds = PostgresStoreBinds()
        let columnsOfTable = """
            SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = to_regclass(\(binds.add(table))) AND attnum > 0 AND NOT attisdropped
            """
        let rows = try await session.query(binds.query(columnsOfTable))
        var existing: [String: String] = [:]
        for row in rows {
            let (name, type) = try row.decode((String, String).self)
            existing[name] = type
        }
        for field in layout.fields {
            if let type = existing[field.name] {
                guard type == Self.typeName(field.kind) else {
                    throw StoreError(.invalidArgument, "column '\(field.name)' of \(table) is \(type), but \(layout.model)'s field holds \(field.kind == .int ? "an" : "a") \(field.kind) (\(Self.typeName(field.kind))); migrate the column or rename the field")
                }
                continue
            }
            let defaultClause = try layout.defaults[field.name].flatMap { try literal($0, of: field) }.map { " DEFAULT " + $0 } ?? ""
            try await session.execute("ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS \(Self.quote(field.name)) \(Self.columnType(field.kind))\(defaultClause)")
        }
        for field in layout.indexes {
            // Nulls first: ascending order lists nil first (as the other backends do), and a backward scan
            // of the same index gives descending order.
            try await session.execute("CREATE INDEX IF NOT EXISTS \(Self.quote(indexName(field))) ON \(table) (\(Self.quote(field.name)) NULLS FIRST)")
        }
    }

    /// A SQL literal of the default `value` of `field` (nil for null), checked to be of the field's kind.
    private func literal(_ value: ModelValue, of field: ModelLayout.Field) throws -> String? {
        func quoted(_ text: String) -> String? {
            text.utf8.contains(0) ? nil : "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        }
        let literal: String?
        switch (field.kind, value) {
        case (_, .null): return nil
        case (.int, .int(let i)), (.double, .int(let i)): literal = "\(i)"
        case (.double, .double(let d)): literal = d.isFinite ? "'\(d)'::double precision" : nil
        case (.bool, .bool(let b)): literal = b ? "true" : "false"
        case (.string, .string(let s)): literal = quoted(s)
        case (.json, .json(let j)): literal = (try? JSONTape(Array(j.utf8))) == nil ? nil : quoted(j).map { $0 + "::json" }
        default: literal = nil
        }
        guard let literal else {
            throw StoreError(.invalidArgument, "\(layout.model)'s default for '\(field.name)' (\(value)) is not a value PostgreSQL can hold in a column of \(field.kind == .int ? "an" : "a") \(field.kind)")
        }
        return literal
    }
}
