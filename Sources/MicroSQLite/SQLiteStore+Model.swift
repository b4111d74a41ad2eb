import MicroCore

/// Models on SQLite are tables with real columns, not key-value records.
extension SQLiteStore: ModelBackendProvider {
    package func modelBackend(for layout: ModelLayout) throws -> any ModelBackend {
        SQLiteModelBackend(files: files, database: try files.database(scope.database), layout: layout)
    }
}

extension SQLiteStore {
    /// SQLite's plan for the statement that answers `query` on a model laid out as `layout` (one line per
    /// step), to show which index it uses.
    package func queryPlan(_ query: ModelQuery, layout: ModelLayout) async throws -> [String] {
        try await SQLiteModelBackend(files: files, database: try files.database(scope.database), layout: layout).queryPlan(query)
    }
}
