import MicroCore

extension EnginePlugin {
    /// The `sqlite` store: files under the role's address (`MICRO_STORE_ADDRESS`, or `MICRO_SYNC_ADDRESS` for
    /// locks in SQLite; a directory), else `MICRO_STORE_ADDRESS`, else `$MICRO_HOME/store`.
    public static let sqlite = EnginePlugin("sqlite") { engines in
        engines.add(StoreFactory("sqlite") { context in
            SQLiteStore(configuration: SQLiteStoreConfiguration(directory: context.address ?? SQLiteStoreConfiguration.defaultDirectory(environment: context.environment)),
                        logger: context.logger)
        })
    }
}
