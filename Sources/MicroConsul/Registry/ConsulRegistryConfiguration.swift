import ConsulClient

/// How a ``ConsulRegistry`` reaches its agents, registers nodes and reads and watches the catalog.
public struct ConsulRegistryConfiguration: Sendable {
    /// How the agents are reached (the properties below up to ``idleConnectionsPerAgent`` are its).
    public var agent = ConsulAgentConfiguration()
    /// The agents' HTTP addresses, `host:port`, tried in order; a failed agent hands over to the next.
    public var addresses: [String] {
        get { agent.addresses }
        set { agent.addresses = newValue }
    }
    /// The ACL token sent as `X-Consul-Token` (nil: none, the agent's default token applies).
    public var token: String? {
        get { agent.token }
        set { agent.token = newValue }
    }
    /// The datacenter queried (`?dc=`; nil: the agent's own).
    public var datacenter: String? {
        get { agent.datacenter }
        set { agent.datacenter = newValue }
    }
    /// Reads may be served by any server, not only the leader (`?stale`), as go-micro's plugin does.
    public var allowStale: Bool {
        get { agent.allowStale }
        set { agent.allowStale = newValue }
    }
    /// Node lookups ask only for instances whose checks all pass (`?passing=1`); nodes with a
    /// critical check are left out either way, as go-micro does.
    public var passingOnly: Bool {
        get { agent.passingOnly }
        set { agent.passingOnly = newValue }
    }
    /// Added to the TTL for the check's `DeregisterCriticalServiceAfter` (go-micro: 5 s); the sum is at
    /// least one minute plus this splay, Consul's minimum.
    public var deregisterSplay: Duration = .seconds(5)
    /// The longest a watch's blocking query waits for a change (`?wait=`; Consul caps it at 10 min).
    public var blockingWait: Duration {
        get { agent.blockingWait }
        set { agent.blockingWait = newValue }
    }
    /// The least time between two blocking queries of one watch (Consul asks clients to rate limit).
    public var watchMinInterval: Duration = .milliseconds(50)
    /// The first pause after a failed watch query; it doubles up to ``watchRetryMax``.
    public var watchRetryInitial: Duration = .seconds(1)
    /// The longest pause between failed watch queries.
    public var watchRetryMax: Duration = .seconds(20)
    /// Events a watch buffers for a slow consumer (the newest are kept).
    public var watchBufferLimit = 4096
    /// The time a non-blocking request may take, connecting included.
    public var requestTimeout: Duration {
        get { agent.requestTimeout }
        set { agent.requestTimeout = newValue }
    }
    /// The time a connection to an agent may take to open.
    public var connectTimeout: Duration {
        get { agent.connectTimeout }
        set { agent.connectTimeout = newValue }
    }
    /// Answers with a larger body fail with `ConsulError/Code/responseTooLarge`.
    public var maxResponseBytes: Int {
        get { agent.maxResponseBytes }
        set { agent.maxResponseBytes = newValue }
    }
    /// Idle keep-alive connections kept per agent.
    public var idleConnectionsPerAgent: Int {
        get { agent.idleConnectionsPerAgent }
        set { agent.idleConnectionsPerAgent = newValue }
    }
    /// A tag whose inflated content exceeds this is malformed (its entry is skipped).
    public var maxTagBytes = 256 * 1024
    /// Also carry the service-wide metadata, which go-micro's encoding drops, in one extra tag
    /// `m-<hex(zlib(JSON))>` (only when the metadata is not empty; go-micro ignores the tag).
    public var encodeServiceMetadata = true

    /// The defaults: one agent at `127.0.0.1:8500`, stale reads, passing nodes only.
    public init() {}

    /// The defaults with the agents of a comma-separated list (`MICRO_REGISTRY_ADDRESS`); an empty or
    /// nil list means `127.0.0.1:8500`, an address without a port gets 8500, as go-micro's plugin does
    /// (`ConsulAgentConfiguration/init(addresses:)`).
    public init(addresses: String?) {
        agent = ConsulAgentConfiguration(addresses: addresses)
    }

    /// The check's `DeregisterCriticalServiceAfter` for a TTL: TTL plus splay, and at least 1 min plus splay.
    public func deregisterCriticalServiceAfter(ttl: Duration) -> Duration {
        ttl < .seconds(60) ? .seconds(60) + deregisterSplay : ttl + deregisterSplay
    }
}
