import NIOCore

/// How an ``MDNSRegistry`` announces, listens and queries.
public struct MDNSRegistryConfiguration: Sendable {
    /// The domain of go-micro's records (`micro.`, go-micro's default; not `local.`).
    public var domain: String = "micro."
    /// Interfaces to use by name (`["lo"]`); nil: every interface that is up, multicast-capable and has an IPv4 address.
    public var interfaces: [String]? = nil
    /// A network namespace (`/var/run/netns/NAME`) to create the sockets in; nil: the process's own.
    ///
    /// The sockets are made on a short-lived thread of their own that enters the namespace, so the
    /// rest of the process stays where it is; a socket keeps its namespace for life.
    public var networkNamespace: String? = nil
    /// The UDP port (5353, RFC 6762).
    public var port: Int = 5353
    /// How long get and list wait for answers (100 ms, like go-micro).
    public var queryTimeout: Duration = .milliseconds(100)
    /// The DNS TTL of records registered without a TTL (120 s, go-micro's); a registration with a TTL
    /// announces that TTL (at least 1 s).
    public var announceTTL: Duration = .seconds(120)
    /// Unsolicited announcements sent for a new or changed node (RFC 6762 §8.3: 2 to 8).
    public var announceCount: Int = 3
    /// The first interval between those announcements, doubled after each (RFC 6762 §8.3: 1 s).
    public var announceInterval: Duration = .seconds(1)
    /// How often records are expired, re-announced and refreshed.
    public var maintenanceInterval: Duration = .milliseconds(100)
    /// Whether every node is also a standard DNS-SD instance of ``dnsSDServiceType`` in `local.`
    /// (for avahi, Bonjour, zeroconf).
    public var announceDNSSD: Bool = true
    /// The DNS-SD service type (`_micro._tcp`).
    public var dnsSDServiceType: String = "_micro._tcp"
    /// The largest packet sent or accepted (RFC 6762 §17: 9000 bytes).
    public var maxPacketBytes: Int = 9000
    /// The largest go-micro TXT payload after inflating it.
    public var maxTXTPayloadBytes: Int = 256 * 1024
    /// The most peer instances cached; more are dropped until some expire.
    public var maxCachedInstances: Int = 4096
    /// The event loops of the sockets; nil: NIO's shared singleton group.
    public var eventLoopGroup: (any EventLoopGroup)? = nil

    /// The defaults.
    public init() {}
}
