import MicroCore

extension EnginePlugin {
    /// The `gossip` registry: a memberlist (SWIM) member listening on `MICRO_GOSSIP_ADDRESS`
    /// (default `127.0.0.1:7946`) that joins the peers in its address (comma-separated).
    public static let gossip = EnginePlugin("gossip") { engines in
        engines.add(RegistryFactory("gossip") { context in
            GossipRegistry(bind: context.environment["MICRO_GOSSIP_ADDRESS"] ?? "127.0.0.1:7946", peers: context.address ?? "")
        })
    }
}
