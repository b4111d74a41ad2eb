import Logging
import MicroCore
import NIOConcurrencyHelpers

/// The databases of a ``SQLiteStore`` (one file each), shared by every scope of it.
final class SQLiteStoreFiles: Sendable {
    let configuration: SQLiteStoreConfiguration
    private let logger: Logger
    /// Model tables created or migrated by this store (database, table and fields), so each is set up once.
    let preparedModels = NIOLockedValueBox<Set<String>>([])
    private let databases = NIOLockedValueBox<(open: [String: SQLiteStoreDatabase], closed: Bool)>(([:], false))

    init(configuration: SQLiteStoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The file of `database` (a validated, lowercased name).
    func path(of database: String) -> String {
        let directory = configuration.directory
        return (directory.hasSuffix("/") ? directory : directory + "/") + database + ".sqlite"
    }

    /// The database named `name`, set up on first use.
    func database(_ name: String) throws -> SQLiteStoreDatabase {
        try databases.withLockedValue { d in
            if d.closed { throw SQLiteStoreDatabase.closedError }
            if let existing = d.open[name] { return existing }
            let created = SQLiteStoreDatabase(path: path(of: name), configuration: configuration, logger: logger)
            d.open[name] = created
            return created
        }
    }

    /// Closes every database; later operations fail with ``StoreError/Code/unavailable``.
    func close() async {
        let all = databases.withLockedValue { d -> [SQLiteStoreDatabase] in
            d.closed = true
            return Array(d.open.values)
        }
        for database in all { await database.close() }
    }
}
