import MicroCore

/// Models on PostgreSQL are tables with typed columns and indexes, not key-value records.
extension PostgresStore: ModelBackendProvider {
    package func modelBackend(for layout: ModelLayout) throws -> any ModelBackend {
        postgresModelBackend(layout)
    }

    /// PostgreSQL's plan (`EXPLAIN`, one line per row) for the statement that answers `query` on a
    /// model laid out as `layout`, to show which index it uses.
    package func queryPlan(_ query: ModelQuery, layout: ModelLayout) async throws -> [String] {
        try await postgresModelBackend(layout).queryPlan(query)
    }

    /// The quoted, schema-qualified table of the model laid out as `layout` (`"store_micro"."m_people"`).
    package func tableName(of layout: ModelLayout) -> String {
        postgresModelBackend(layout).table.table
    }

    private func postgresModelBackend(_ layout: ModelLayout) -> PostgresModelBackend {
        PostgresModelBackend(client: client, table: PostgresModelTable(layout: layout, database: scope.database, prefix: configuration.schemaPrefix))
    }
}
