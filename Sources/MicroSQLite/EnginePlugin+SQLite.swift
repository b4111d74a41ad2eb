import MicroCore

extension EnginePlugin {
    /// The `sqlite` store: files under `MICRO_STORE_ADDRESS` (a directory), else `$MICRO_HOME/store`.
    public static let sqlite = EnginePlugin("sqlite") { engines in
        engines.add(StoreFactory("sqlite") { context in
            SQLiteStore(configuration: SQLiteStoreConfiguration(directory: SQLiteStoreConfiguration.defaultDirectory(environment: context.environment)),
                        logger: context.logger)
        })
    }
}
