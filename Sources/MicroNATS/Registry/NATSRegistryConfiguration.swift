/// The topics and timings of a ``NATSRegistry``.
public struct NATSRegistryConfiguration: Sendable {
    /// The subject queries are published on; every registering process answers there (go-micro v5+: `micro.nats.query`).
    public var queryTopic: String = "micro.nats.query"
    /// The subject registrations and deregistrations are announced on (go-micro v5+: `micro.nats.watch`).
    public var watchTopic: String = "micro.nats.watch"
    /// How long a query waits for answers at least (go-micro's registry timeout: 100 ms).
    public var queryTimeout: Duration = .milliseconds(100)
    /// After that, a query keeps collecting while answers keep arriving less than this apart.
    public var quietPeriod: Duration = .milliseconds(50)
    /// The longest a query collects answers.
    public var maxQueryTime: Duration = .seconds(1)
    /// How long a watch keeps a node announced without a TTL (go-micro sends none) or found by the
    /// watch's initial query; `nil` keeps such nodes until they are deregistered.
    public var defaultWatchTTL: Duration? = .seconds(90)
    /// How often a watch looks for nodes whose TTL passed.
    public var watchSweepInterval: Duration = .milliseconds(500)

    /// The defaults: go-micro v5+ topics, go-micro's 100 ms query timeout.
    public init() {}

    /// The topics of go-micro's older NATS registry plugin (v2 to v4): `micro.registry.nats.query` / `.watch`.
    public static var legacyTopics: NATSRegistryConfiguration {
        var c = NATSRegistryConfiguration()
        c.queryTopic = "micro.registry.nats.query"
        c.watchTopic = "micro.registry.nats.watch"
        return c
    }
}
