import MicroCore
import NATSClient

/// Where a JetStream ``NATSEventStream`` or ``NATSEventStore`` keeps its events and how it waits.
///
/// Every topic of one stream or store lives in one JetStream stream (``streamName``) whose subjects
/// are `<subjectPrefix>.>`: topic `orders.created` is subject `micro.events.orders.created`. One stream
/// keeps one duplicate window, one set of limits and one place on disk for all topics, and topics need
/// no stream names of their own (a topic is not a valid stream name).
public struct NATSEventsConfiguration: Sendable, Hashable {
    /// The JetStream stream (default `MICRO_EVENTS` for the event stream, `MICRO_EVENT_STORE` for the store).
    public var streamName: String
    /// The subjects' prefix (default `micro.events`, `micro.eventstore`).
    public var subjectPrefix: String
    /// Where the stream keeps its messages (default on disk).
    public var storage: JetStream.StorageType
    /// Copies in a cluster.
    public var replicas: Int
    /// How long JetStream remembers ids for deduplication (default 2 minutes).
    public var duplicateWindow: Duration
    /// The largest event accepted.
    public var limits: EventLimits
    /// How long one JetStream request may take (default 5 s): a publish, a fetch, a consumer made.
    public var timeout: Duration
    /// How many messages one fetch of a consumer asks for (default 64).
    public var fetchBatch: Int
    /// How long a consumer keeps retrying while the server cannot be reached before its sequence
    /// throws ``MicroCore/EventsError/Code/unavailable`` (default 60 s).
    public var unavailableAfter: Duration
    /// Whether acknowledgements wait for the server's confirmation (default false: published and not waited for).
    public var confirmAcks: Bool

    /// A configuration; the defaults are the event stream's.
    public init(streamName: String = "MICRO_EVENTS", subjectPrefix: String = "micro.events", storage: JetStream.StorageType = .file,
                replicas: Int = 1, duplicateWindow: Duration = .seconds(120), limits: EventLimits = EventLimits(),
                timeout: Duration = .seconds(5), fetchBatch: Int = 64, unavailableAfter: Duration = .seconds(60), confirmAcks: Bool = false) {
        self.streamName = streamName
        self.subjectPrefix = subjectPrefix
        self.storage = storage
        self.replicas = replicas
        self.duplicateWindow = duplicateWindow
        self.limits = limits
        self.timeout = timeout
        self.fetchBatch = max(1, fetchBatch)
        self.unavailableAfter = unavailableAfter
        self.confirmAcks = confirmAcks
    }

    /// The event store's defaults: stream `MICRO_EVENT_STORE`, subjects `micro.eventstore.>`.
    public static var store: NATSEventsConfiguration {
        NATSEventsConfiguration(streamName: "MICRO_EVENT_STORE", subjectPrefix: "micro.eventstore")
    }

    /// The subject `topic`'s events are published on: `<subjectPrefix>.<topic>`.
    public func subject(_ topic: String) -> String { "\(subjectPrefix).\(topic)" }

    /// The topic of `subject`, nil when it is not under the prefix.
    func topic(ofSubject subject: String) -> String? {
        let prefix = subjectPrefix + "."
        guard subject.hasPrefix(prefix) else { return nil }
        return String(subject.dropFirst(prefix.count))
    }
}
