import MicroCore

extension EnginePlugin {
    /// The `etcd` registry (go-micro's layout), store and sync (locks, leaders); each one's address
    /// (`MICRO_REGISTRY_ADDRESS`, `MICRO_STORE_ADDRESS`, `MICRO_SYNC_ADDRESS`) is a comma-separated list of members (default
    /// `127.0.0.1:2379`).
    public static let etcd = EnginePlugin("etcd") { engines in
        engines.add(RegistryFactory("etcd") { context in try EtcdRegistry(addresses: context.address) })
        engines.add(StoreFactory("etcd") { context in try EtcdStore(addresses: context.address, logger: context.logger) })
        engines.add(SyncFactory("etcd") { context in try EtcdSync(addresses: context.address, logger: context.logger) })
    }
}
