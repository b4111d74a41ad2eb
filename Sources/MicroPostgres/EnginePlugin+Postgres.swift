import MicroCore

extension EnginePlugin {
    /// The `postgres` store and event store: the server `MICRO_STORE_ADDRESS` (`MICRO_EVENT_STORE_ADDRESS`)
    /// names as a URL (`postgres://user:password@host:port/database`; default `postgres://postgres@127.0.0.1:5432/postgres`).
    public static let postgres = EnginePlugin("postgres") { engines in
        engines.add(StoreFactory("postgres") { context in
            try PostgresStore(configuration: try PostgresStoreConfiguration(url: context.address ?? PostgresStoreConfiguration.defaultURL),
                          logger: context.logger)
        })
        engines.add(EventStoreFactory("postgres") { context in
            try PostgresEventStore(configuration: try PostgresStoreConfiguration(url: context.address ?? PostgresStoreConfiguration.defaultURL),
                                   logger: context.logger)
        })
    }
}
