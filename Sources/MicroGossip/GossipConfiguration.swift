/// The addresses and timings of a ``GossipRegistry`` (memberlist's LAN defaults unless said otherwise).
public struct GossipConfiguration: Sendable {
    /// The IP the UDP and TCP sockets bind (default 127.0.0.1).
    public var bindHost: String = "127.0.0.1"
    /// The port both sockets bind (default 7946; 0 picks a free one).
    public var bindPort: Int = 7946
    /// The IP other members are told to reach this node at (default: the bind IP, or 127.0.0.1 when
    /// binding every interface).
    public var advertiseHost: String?
    /// The port other members are told (default: the bound port).
    public var advertisePort: Int?
    /// This node's unique name in the cluster (default `micro-<random>`).
    public var nodeName: String?
    /// `host:port` of members to join at start (and to rejoin when none of them is a live member).
    public var seeds: [String] = []
    /// Tags published in this node's meta (serf's encoding; at most 512 bytes encoded).
    public var tags: [String: String] = [:]
    /// How often one member is probed (memberlist: 1 s).
    public var probeInterval: Duration = .seconds(1)
    /// How long a direct probe waits for its ack before asking others (memberlist: 500 ms).
    public var probeTimeout: Duration = .milliseconds(500)
    /// How many members are asked to probe indirectly (memberlist: 3).
    public var indirectChecks: Int = 3
    /// Multiplier of the suspicion timeout: `mult * log10(max(1, n)) * probeInterval` at least (memberlist: 4).
    public var suspicionMult: Int = 4
    /// The longest suspicion timeout as a multiple of the shortest, reached with no confirmations (memberlist: 6).
    public var suspicionMaxTimeoutMult: Int = 6
    /// Lifeguard's awareness: probe timeouts stretch up to this factor while this node itself is unhealthy (memberlist: 8).
    public var awarenessMaxMultiplier: Int = 8
    /// Each broadcast is sent `retransmitMult * ceil(log10(n + 1))` times (memberlist: 4).
    public var retransmitMult: Int = 4
    /// How often queued broadcasts are gossiped (memberlist: 200 ms).
    public var gossipInterval: Duration = .milliseconds(200)
    /// How many members each gossip round goes to (memberlist: 3).
    public var gossipNodes: Int = 3
    /// How long dead members still receive gossip (so they can refute) before they are forgotten (memberlist: 30 s).
    public var gossipToTheDeadTime: Duration = .seconds(30)
    /// How often full state is exchanged with one random member over TCP (memberlist: 30 s).
    public var pushPullInterval: Duration = .seconds(30)
    /// How often seeds that are not live members are joined again.
    public var joinRetryInterval: Duration = .seconds(5)
    /// The longest a TCP exchange (connect, push-pull, reliable user message) may take (memberlist: 10 s).
    public var tcpTimeout: Duration = .seconds(10)
    /// The largest UDP packet sent (memberlist: 1400 bytes).
    public var packetBudget: Int = 1400
    /// How often registrations whose TTL passed are dropped and watches told.
    public var sweepInterval: Duration = .milliseconds(250)
    /// How long a deregistration is remembered (so an older registration arriving late is ignored).
    public var tombstoneLifetime: Duration = .seconds(60)

    /// The defaults: bind 127.0.0.1:7946, memberlist's LAN timings, no seeds.
    public init() {}

    /// Bind `bind` (`host:port`, `[v6]:port`, a host alone on port 7946, or a port alone on
    /// 127.0.0.1) and join `seeds`.
    public init(bind: String, seeds: [String] = []) throws {
        let address = try GossipAddress.parse(bind)
        bindHost = address.host
        bindPort = address.port
        self.seeds = seeds
    }

    /// Timings for tests on loopback: 100 ms probes, 50 ms gossip, 1 s push-pull.
    public static func fast() -> GossipConfiguration {
        var c = GossipConfiguration()
        c.bindPort = 0
        c.probeInterval = .milliseconds(100)
        c.probeTimeout = .milliseconds(40)
        c.suspicionMult = 3
        c.gossipInterval = .milliseconds(30)
        c.pushPullInterval = .seconds(1)
        c.joinRetryInterval = .milliseconds(500)
        c.tcpTimeout = .seconds(2)
        c.sweepInterval = .milliseconds(50)
        c.gossipToTheDeadTime = .seconds(5)
        return c
    }
}
