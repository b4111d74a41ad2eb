/// How an ``EtcdConnection`` reaches its cluster: members, timeouts and limits.
public struct EtcdConfiguration: Sendable {
    /// The members to use, tried in order; on failure the client moves to the next one.
    public var endpoints: [EtcdEndpoint]
    /// How long one attempt of a request may take on one member (go-micro's registry timeout: 5 s).
    public var requestTimeout: Duration = .seconds(5)
    /// How long an attempt may take while a failover is under way (an attempt of the same request
    /// failed, or the client moved to another member within ``memberQuarantine``): a member that has
    /// not yet noticed that the leader died holds a write until etcd's own timeout, so such attempts
    /// give up on it sooner and move on.
    public var retryRequestTimeout: Duration = .seconds(2)
    /// The longest a request may take across all its attempts on every member.
    public var operationTimeout: Duration = .seconds(15)
    /// The first pause between attempts (doubling per attempt up to ``maxRetryBackoff``).
    public var retryBackoff: Duration = .milliseconds(50)
    /// The longest pause between attempts.
    public var maxRetryBackoff: Duration = .seconds(1)
    /// The longest a member stays avoided after it failed, unless every member has failed.
    public var memberQuarantine: Duration = .seconds(5)
    /// HTTP/2 pings on idle connections to notice a member that vanished without closing its
    /// connections; nil turns them off.
    public var keepalivePing: (interval: Duration, timeout: Duration)? = (.seconds(10), .seconds(5))
    /// The largest response message accepted (a range read is paged to stay below it; etcd's own
    /// request limit is 1.5 MiB).
    public var maxResponseBytes: Int = 32 * 1024 * 1024
    /// The largest request message sent.
    public var maxRequestBytes: Int = 4 * 1024 * 1024
    /// The most requests one connection to a member carries within 30 s; the next request opens a fresh
    /// connection and the old one closes once its requests and streams are done (0: never). etcd
    /// (grpc-go) answers nearly every request with a flow-control PING, and swift-nio-http2 closes a
    /// connection that receives more than 200 PING or SETTINGS frames within 30 s, failing whatever is
    /// in flight on it; 100 leaves room for the PINGs that streams and keep-alives draw.
    public var connectionCallBudget: Int = 100
    /// Keys per page when a read fetches a whole prefix.
    public var rangePageSize: Int = 1000
    /// The most watches one client keeps open.
    public var maxWatches: Int = 1024
    /// Batches a watch buffers for a slow consumer before it ends with ``EtcdError/Code/slowConsumer``.
    public var watchBufferLimit: Int = 4096
    /// The most leases kept alive by one client.
    public var maxKeepAliveLeases: Int = 100_000

    /// The members at `endpoints`.
    public init(endpoints: [EtcdEndpoint] = [EtcdEndpoint(host: "127.0.0.1")]) {
        self.endpoints = endpoints
    }

    /// The members in a comma-separated list (`MICRO_REGISTRY_ADDRESS`); an empty list means `127.0.0.1:2379`.
    public init(addresses: String?) throws {
        let parsed = try EtcdEndpoint.list(addresses ?? "")
        self.init(endpoints: parsed.isEmpty ? [EtcdEndpoint(host: "127.0.0.1")] : parsed)
    }
}
