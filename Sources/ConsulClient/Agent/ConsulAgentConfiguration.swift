import MicroAddress

/// How a ``ConsulAgentClient`` reaches its agents and what its reads ask for.
public struct ConsulAgentConfiguration: Sendable {
    /// The agents' HTTP addresses, `host:port`, tried in order; a failed agent hands over to the next.
    public var addresses: [String] = ["127.0.0.1:8500"]
    /// The ACL token sent as `X-Consul-Token` (nil: none, the agent's default token applies).
    public var token: String?
    /// The datacenter queried (`?dc=`; nil: the agent's own).
    public var datacenter: String?
    /// Reads may be served by any server, not only the leader (`?stale`), as go-micro's plugin does.
    public var allowStale = true
    /// Health reads ask only for instances whose checks all pass (`?passing=1`).
    public var passingOnly = true
    /// The longest a blocking query waits for a change (`?wait=`; Consul caps it at 10 min).
    public var blockingWait: Duration = .seconds(300)
    /// The time a non-blocking request may take, connecting included.
    public var requestTimeout: Duration = .seconds(10)
    /// The time a connection to an agent may take to open.
    public var connectTimeout: Duration = .seconds(2)
    /// Answers with a larger body fail with ``ConsulError/Code/responseTooLarge``.
    public var maxResponseBytes = 16 * 1024 * 1024
    /// Idle keep-alive connections kept per agent.
    public var idleConnectionsPerAgent = 4

    /// The defaults: one agent at `127.0.0.1:8500`, stale reads, passing instances only.
    public init() {}

    /// The defaults with the agents of a comma-separated list (`MICRO_REGISTRY_ADDRESS`): an
    /// `http://` prefix is dropped, a missing port is 8500 and a missing host 127.0.0.1 (`HostPort`'s
    /// policy); entries that are not addresses are skipped, as go-micro's plugin skips them. An empty
    /// or nil list means `127.0.0.1:8500`.
    public init(addresses: String?) {
        let parsed = (addresses ?? "").split(separator: ",").compactMap(Self.agentAddress)
        if !parsed.isEmpty { self.addresses = parsed }
    }

    /// One agent address as `host:port`; nil for an empty entry or one that is not an address.
    private static func agentAddress(_ entry: Substring) -> String? {
        let (scheme, authority) = HostPort.splitScheme(entry)
        guard scheme == nil || scheme == "http" else { return nil }
        return (try? HostPort(parsing: authority, defaultPort: 8500, defaultHost: HostPort.loopback))?.description
    }
}
