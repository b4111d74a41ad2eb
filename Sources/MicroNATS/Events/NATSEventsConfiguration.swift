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
    /// How long JetStream remembers ids for deduplication (default 2 minutes; `MICRO_EVENTS_DUPLICATE_WINDOW`,
    /// `MICRO_EVENT_STORE_DUPLICATE_WINDOW` in seconds): an id published again later is stored again.
    public var duplicateWindow: Duration
    /// How far an event's own timestamp may be ahead of the time the server stored it (default 1 minute).
    /// A read of the event store with a start time starts its JetStream consumer that much before it
    /// (`opt_start_time`), so it skips what was stored earlier; an event dated further ahead of its
    /// writing may be missed by such a read. Backdated events are always found.
    public var clockSkew: Duration
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
                timeout: Duration = .seconds(5), fetchBatch: Int = 64, unavailableAfter: Duration = .seconds(60), confirmAcks: Bool = false,
                clockSkew: Duration = .seconds(60)) {
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
        self.clockSkew = clockSkew
    }

    /// This configuration with the duplicate window `variable` sets in `environment` (seconds, more than
    /// 0 and at most a day), or a ``MicroCore/ConfigurationError``.
    public func duplicateWindow(from environment: MicroEnvironment, variable: String) throws -> NATSEventsConfiguration {
        guard let text = environment[variable] else { return self }
        guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= 86_400 else {
            throw ConfigurationError("\(variable) is a number of seconds, more than 0 and at most 86400, not '\(text)'")
        }
        var configuration = self
        configuration.duplicateWindow = .milliseconds(Int64((seconds * 1000).rounded(.up)))
        return configuration
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
