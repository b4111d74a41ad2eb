import MicroCore

extension EnginePlugin {
    /// The `mdns` registry: multicast DNS on the local network, go-micro's default registry.
    public static let mdns = EnginePlugin("mdns") { engines in
        engines.add(RegistryFactory("mdns") { _ in MDNSRegistry() })
    }
}
