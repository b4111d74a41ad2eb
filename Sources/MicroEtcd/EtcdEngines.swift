import MicroCore

extension EnginePlugin {
    /// The `etcd` registry (go-micro's layout); its address is a comma-separated list of members
    /// (default `127.0.0.1:2379`).
    public static let etcd = EnginePlugin("etcd") { engines in
        engines.add(RegistryFactory("etcd") { context in try EtcdRegistry(addresses: context.address) })
    }
}
