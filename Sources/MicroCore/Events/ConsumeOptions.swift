/// How a consumer reads a topic: its group, where a new group starts, how long a delivery may stay
/// unacknowledged, how often an event is delivered before it goes to the dead-letter topic.
public struct ConsumeOptions: Sendable {
    /// The consumer group: members of one group share the topic's events (each event goes to one of
    /// them), and the group keeps its place while no member runs. nil: a group of this consumer alone,
    /// forgotten when it closes.
    public var group: String?
    /// Where a new group starts (default ``EventStartPosition/new``).
    public var start: EventStartPosition
    /// How long a delivery may go unacknowledged before the event is delivered again (default 30 s).
    public var ackWait: Duration
    /// How often an event is delivered at most; after the last delivery is nacked or times out, the
    /// event is published to ``deadLetterTopic`` and acknowledged. nil: no limit.
    public var maxDeliveries: Int?
    /// Where events go after ``maxDeliveries`` (default `<topic>.dead`), with the
    /// ``Event/deadLetterTopicKey``, ``Event/deadLetterGroupKey`` and ``Event/deadLetterDeliveriesKey`` metadata.
    public var deadLetterTopic: String?
    /// Acknowledge every event as it is handed out (at-most-once for the handler); default false.
    public var autoAck: Bool
    /// Told of every delivery that could not be read as an event (``EventsError/Code/malformed``); such
    /// a delivery is dropped (terminated), and the consumer goes on. Default: logged as a warning.
    public var onMalformed: (@Sendable (EventsError) -> Void)?

    /// Options; see each property for its default.
    public init(group: String? = nil, start: EventStartPosition = .new, ackWait: Duration = .seconds(30), maxDeliveries: Int? = nil,
                deadLetterTopic: String? = nil, autoAck: Bool = false, onMalformed: (@Sendable (EventsError) -> Void)? = nil) {
        self.group = group
        self.start = start
        self.ackWait = ackWait
        self.maxDeliveries = maxDeliveries
        self.deadLetterTopic = deadLetterTopic
        self.autoAck = autoAck
        self.onMalformed = onMalformed
    }

    /// The dead-letter topic for `topic`: ``deadLetterTopic`` or `<topic>.dead`.
    public func deadLetterTopic(for topic: String) -> String {
        deadLetterTopic ?? topic + ".dead"
    }

    /// The settings a consumer group keeps, which every member of the group must share (its first
    /// member's): ack wait, max deliveries and dead-letter topic, as text for messages and comparison.
    /// The start position only says where a new group starts; ``autoAck`` and ``onMalformed`` are each member's own.
    public func groupSettings(topic: String) -> String {
        "ack wait \(ackWait), max deliveries \(maxDeliveries.map(String.init) ?? "unlimited"), dead letters to \(deadLetterTopic(for: topic))"
    }

    /// Throws unless these options can consume `topic`: a valid topic, group and dead-letter topic
    /// (not the topic itself), an ack wait of 1 ms to a day, at least one delivery.
    public func validate(topic: String) throws {
        try EventTopic.validate(topic)
        if let group { try EventTopic.validateGroup(group) }
        guard ackWait >= .milliseconds(1), ackWait <= .seconds(86_400) else {
            throw EventsError(.invalidArgument, "an ack wait is 1 ms to a day, got \(ackWait)")
        }
        if let maxDeliveries {
            guard maxDeliveries >= 1 else { throw EventsError(.invalidArgument, "max deliveries is at least 1, got \(maxDeliveries)") }
            let dead = deadLetterTopic(for: topic)
            try EventTopic.validate(dead)
            guard dead != topic else { throw EventsError(.invalidTopic, "the dead-letter topic cannot be the topic itself") }
        }
    }
}
