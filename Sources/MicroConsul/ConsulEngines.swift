import MicroCore

extension EnginePlugin {
    /// The `consul` registry over the agent HTTP API; its address is a comma-separated list of agents
    /// (default `127.0.0.1:8500`).
    public static let consul = EnginePlugin("consul") { engines in
        engines.add(RegistryFactory("consul") { context in ConsulRegistry(addresses: context.address) })
    }
}
