/// What a watch delivers.
public struct KeyValueWatchOptions: Sendable, Hashable {
    /// Every stored value of the matching keys, not only the last of each.
    public var includeHistory: Bool
    /// Skip delete and purge markers.
    public var ignoreDeletes: Bool
    /// Deliver keys and headers without values.
    public var headersOnly: Bool
    /// Only changes from now on (no initial values).
    public var updatesOnly: Bool
    /// How often the server sends a heartbeat when idle; three missed ones make a new consumer.
    public var idleHeartbeat: Duration
    /// Whether the watch survives a lost consumer (a restarted server, say) by making a new one after
    /// the last revision it delivered; when false it ends with ``JetStreamError/Code/consumerReset``.
    public var recreate: Bool

    /// Options: the last value of each key, deletes included, then changes; surviving a lost consumer.
    public init(includeHistory: Bool = false, ignoreDeletes: Bool = false, headersOnly: Bool = false, updatesOnly: Bool = false,
                idleHeartbeat: Duration = .seconds(5), recreate: Bool = true) {
        self.includeHistory = includeHistory
        self.ignoreDeletes = ignoreDeletes
        self.headersOnly = headersOnly
        self.updatesOnly = updatesOnly
        self.idleHeartbeat = idleHeartbeat
        self.recreate = recreate
    }
}
