import Logging

/// What a factory makes an engine from: the environment (read once), the address for the role being
/// made, engines of other roles already made, and typed options from code.
public struct EngineContext: Sendable {
    /// The `MICRO_*` settings.
    public var environment: MicroEnvironment
    /// The address for this role (`MICRO_<ROLE>_ADDRESS`), nil when unset.
    public var address: String?
    /// The registry, once made (a broker that registers its subscribers needs it).
    public var registry: (any Registry)?
    /// The store, once made (an auth that keeps its records in the service's store uses it).
    public var store: (any Store)?
    /// A client, once made (a store that calls a store service uses it rather than making its own).
    public var client: Client?
    /// Options set in code for particular engines, keyed by the engine module's ``ExtensionKey``s.
    public var options: Extensions
    /// The logger engines log to.
    public var logger: Logger

    /// A context for `environment`.
    public init(environment: MicroEnvironment = MicroEnvironment(), address: String? = nil, registry: (any Registry)? = nil,
                options: Extensions = Extensions(), logger: Logger = Logger(label: "micro")) {
        self.environment = environment
        self.address = address
        self.registry = registry
        self.options = options
        self.logger = logger
    }

    /// The registry, or a ``ConfigurationError`` naming the engine that needs one.
    public func requireRegistry(for engine: String) throws -> any Registry {
        guard let registry else { throw ConfigurationError("the \(engine) engine needs a registry") }
        return registry
    }
}
