import Foundation

/// One event of a topic (go-micro's `events.Event`): an id, the topic, when it happened, string
/// metadata and payload bytes. Events a consumer delivers also carry their place in the topic's log,
/// how often they were delivered, and ``ack()``/``nack()``.
///
/// Two events are equal when their data are (id, topic, timestamp, metadata, payload, sequence);
/// the delivery they came with does not count.
public struct Event: Sendable, Hashable, CustomStringConvertible {
    /// The event's id: a publish of an id the topic already holds (within the backend's duplicate
    /// window) stores nothing. 1 to ``EventLimits/maxIDBytes`` bytes, no control characters.
    public var id: String
    /// The topic, e.g. `orders.created` (``EventTopic``).
    public var topic: String
    /// When the event happened (kept to the millisecond).
    public var timestamp: Date
    /// String metadata.
    public var metadata: [String: String]
    /// The payload.
    public var payload: [UInt8]
    /// The event's place in the backend's log: increasing within a topic (not dense: topics may share
    /// one log); 0 for an event not stored yet.
    public var sequence: UInt64
    /// How often this event was delivered to its consumer group, counting this delivery (1 the first
    /// time); 0 for an event not delivered by a consumer.
    public var deliveries: Int
    /// Settles a consumer's delivery (nil for events that were not delivered).
    package var acknowledger: (any EventAcknowledger)?

    /// An event to publish or write; `id` defaults to a fresh UUID, `timestamp` to now.
    public init(topic: String, payload: [UInt8], metadata: [String: String] = [:], id: String = UUID().uuidString.lowercased(),
                timestamp: Date = Date()) {
        self.id = id
        self.topic = topic
        self.timestamp = Self.milliseconds(timestamp)
        self.metadata = metadata
        self.payload = payload
        self.sequence = 0
        self.deliveries = 0
        self.acknowledger = nil
    }

    /// Tells the group this delivery is done: it is not delivered again. A second ``ack()``, or one
    /// after ``nack()``, changes nothing. Throws ``EventsError/Code/invalidArgument`` for an event that
    /// did not come from a consumer, ``EventsError/Code/unavailable`` when the backend cannot be told.
    public func ack() async throws {
        guard let acknowledger else { throw EventsError(.invalidArgument, "event \(id) of \(topic) was not delivered by a consumer") }
        try await acknowledger.ack()
    }

    /// Gives the delivery back: the group gets the event again at once, or, when this was its last
    /// allowed delivery (``ConsumeOptions/maxDeliveries``), it goes to the dead-letter topic.
    public func nack() async throws {
        guard let acknowledger else { throw EventsError(.invalidArgument, "event \(id) of \(topic) was not delivered by a consumer") }
        try await acknowledger.nack()
    }

    /// The payload as UTF-8 text (invalid bytes replaced), for logs and the CLI.
    public var text: String { String(decoding: payload, as: UTF8.self) }

    public var description: String {
        "Event(\(topic) #\(sequence) id \(id), \(payload.count) bytes, \(metadata.count) metadata)"
    }

    public static func == (lhs: Event, rhs: Event) -> Bool {
        lhs.id == rhs.id && lhs.topic == rhs.topic && lhs.timestamp == rhs.timestamp && lhs.metadata == rhs.metadata
            && lhs.payload == rhs.payload && lhs.sequence == rhs.sequence
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(topic)
        hasher.combine(id)
        hasher.combine(sequence)
    }

    /// `date` truncated to whole milliseconds, as every backend keeps it.
    package static func milliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    /// `date` as whole milliseconds since 1970.
    package static func epochMilliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    // MARK: Dead letters

    /// Metadata a dead letter carries: the topic it was consumed from.
    public static let deadLetterTopicKey = "Micro-Dead-Letter-Topic"
    /// Metadata a dead letter carries: the consumer group that gave up on it.
    public static let deadLetterGroupKey = "Micro-Dead-Letter-Group"
    /// Metadata a dead letter carries: how often it was delivered.
    public static let deadLetterDeliveriesKey = "Micro-Dead-Letter-Deliveries"

    /// This event as the dead letter of `group` after `deliveries` deliveries, for `deadLetterTopic`.
    package func deadLetter(to deadLetterTopic: String, group: String, deliveries: Int) -> Event {
        var letter = Event(topic: deadLetterTopic, payload: payload, metadata: metadata, id: id, timestamp: timestamp)
        letter.metadata[Self.deadLetterTopicKey] = topic
        letter.metadata[Self.deadLetterGroupKey] = group
        letter.metadata[Self.deadLetterDeliveriesKey] = String(deliveries)
        return letter
    }
}
