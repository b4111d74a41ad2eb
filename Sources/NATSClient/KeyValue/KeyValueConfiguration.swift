/// A key-value bucket's settings, as NATS's key-value layout (ADR-8) maps them onto the bucket's
/// stream `KV_<bucket>`.
public struct KeyValueConfiguration: Sendable, Hashable {
    /// The bucket's name: `[A-Za-z0-9_-]+`.
    public var bucket: String
    /// A description, for people.
    public var description: String?
    /// How many values of each key are kept, 1 to 64 (the stream's `max_msgs_per_subject`).
    public var history: Int
    /// How long a value lives (the stream's `max_age`); nil forever.
    public var ttl: Duration?
    /// The largest value (-1 unlimited).
    public var maxValueSize: Int32
    /// The most bytes the bucket holds (-1 unlimited).
    public var maxBytes: Int64
    /// Where values are kept.
    public var storage: JetStream.StorageType
    /// How many copies in a cluster.
    public var replicas: Int

    /// A bucket keeping one value per key, on disk, without limits.
    public init(bucket: String, description: String? = nil, history: Int = 1, ttl: Duration? = nil, maxValueSize: Int32 = -1,
                maxBytes: Int64 = -1, storage: JetStream.StorageType = .file, replicas: Int = 1) {
        self.bucket = bucket
        self.description = description
        self.history = history
        self.ttl = ttl
        self.maxValueSize = maxValueSize
        self.maxBytes = maxBytes
        self.storage = storage
        self.replicas = replicas
    }

    /// The bucket's stream: subjects `$KV.<bucket>.>`, rollups allowed, message deletes denied, direct
    /// gets allowed, new values refused when full, duplicates remembered 2 minutes (or the TTL if shorter).
    var streamConfiguration: JetStream.StreamConfiguration {
        var window = Duration.seconds(120)
        if let ttl, ttl < window { window = ttl }
        return JetStream.StreamConfiguration(
            name: KeyValue.streamName(bucket), subjects: ["\(KeyValue.subjectPrefix(bucket))>"], description: description,
            maxConsumers: -1, maxMessages: -1, maxBytes: maxBytes, maxAge: ttl, maxMessagesPerSubject: Int64(history),
            maxMessageSize: maxValueSize, discard: .new, storage: storage, replicas: replicas, duplicateWindow: window,
            denyDelete: true, denyPurge: false, allowRollupHeaders: true, allowDirect: true)
    }
}
