import MicroCore

extension EnginePlugin {
    /// The `consul` registry over the agent HTTP API and config source on its key-value store; each
    /// one's address is a comma-separated list of agents (default `127.0.0.1:8500`); the config source
    /// reads under `MICRO_CONFIG_PREFIX` (default `micro/config`).
    public static let consul = EnginePlugin("consul") { engines in
        engines.add(RegistryFactory("consul") { context in ConsulRegistry(addresses: context.address) })
        engines.add(ConfigSourceFactory("consul") { context in
            ConsulConfigSource(addresses: context.address, prefix: context.environment["MICRO_CONFIG_PREFIX"] ?? ConsulConfigSource.defaultPrefix,
                               logger: context.logger)
        })
    }
}
