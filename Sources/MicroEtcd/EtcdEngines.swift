import MicroCore

extension EnginePlugin {
    /// The `etcd` registry (go-micro's layout), store, sync (locks, leaders) and config source; each one's
    /// address (`MICRO_REGISTRY_ADDRESS`, `MICRO_STORE_ADDRESS`, `MICRO_SYNC_ADDRESS`, `MICRO_CONFIG_ADDRESS`) is a comma-separated
    /// list of members (default `127.0.0.1:2379`); the config source reads under `MICRO_CONFIG_PREFIX`
    /// (default `/micro/config`). A sync on the registry's members shares the registry's client (one
/// connection, one `LeaseKeepAlive` stream, one `Watch` stream).
    public static let etcd = EnginePlugin("etcd") { engines in
        engines.add(RegistryFactory("etcd") { context in try EtcdRegistry(addresses: context.address) })
        engines.add(StoreFactory("etcd") { context in try EtcdStore(addresses: context.address, logger: context.logger) })
        engines.add(SyncFactory("etcd") { context in
            // On the registry's members: its client, so one keep-alive stream serves registrations and locks.
            if let registry = context.registry as? EtcdRegistry,
               Set(registry.client.configuration.endpoints) == Set(try EtcdConfiguration(addresses: context.address).endpoints) {
                return EtcdSync(client: registry.client)
            }
            return try EtcdSync(addresses: context.address, logger: context.logger)
        })
        engines.add(ConfigSourceFactory("etcd") { context in
            try EtcdConfigSource(addresses: context.address, prefix: context.environment["MICRO_CONFIG_PREFIX"] ?? EtcdConfigSource.defaultPrefix,
                                 logger: context.logger)
        })
    }
}
