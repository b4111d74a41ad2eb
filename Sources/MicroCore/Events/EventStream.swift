/// Publishing events to topics and consuming them in groups, at least once (go-micro's `events.Stream`).
///
/// - Publish is idempotent by ``Event/id``: an id the topic already holds (within the backend's
///   duplicate window) stores nothing and answers ``EventReceipt/duplicate``, so a publisher that
///   lost an acknowledgement publishes again with the same id.
/// - Every event of a topic reaches each consumer group at least once: a delivery not acknowledged
///   (``Event/ack()``) within ``ConsumeOptions/ackWait``, or given back (``Event/nack()``), is
///   delivered again, to any member of the group; after ``ConsumeOptions/maxDeliveries`` it is published
///   to the dead-letter topic instead.
/// - A new group starts where ``ConsumeOptions/start`` says; an existing one goes on from its place.
///
/// Implementations: ``MemoryEventStream`` (in process) and `MicroNATS`'s JetStream stream. Every
/// backend validates the same way (``EventTopic``, ``EventLimits/validate(_:)``,
/// ``ConsumeOptions/validate(topic:)``) and fails with ``EventsError``. The `EventsConformance` test
/// suite states the contract.
public protocol EventStream: Engine {
    /// The backend's name as `MICRO_EVENTS` spells it (`memory`, `nats`).
    var name: String { get }
    /// The largest event a publish may carry.
    var limits: EventLimits { get }

    /// Publishes `event` to its topic and returns once the backend has stored it.
    @discardableResult
    func publish(_ event: Event) async throws -> EventReceipt

    /// A consumer of `topic` in the group `options` names (made when it does not exist). Events come
    /// from the returned sequence until it is closed, the task is cancelled or the stream shuts down.
    /// Joining an existing group with other group settings (``ConsumeOptions/groupSettings(topic:)``)
    /// throws ``EventsError/Code/conflict``.
    func consume(_ topic: String, options: ConsumeOptions) async throws -> EventConsumer
}

extension EventStream {
    /// Publishes `payload` to `topic` with `metadata`, under `id` (default a fresh UUID).
    @discardableResult
    public func publish(_ topic: String, _ payload: [UInt8], metadata: [String: String] = [:], id: String? = nil) async throws -> EventReceipt {
        var event = Event(topic: topic, payload: payload, metadata: metadata)
        if let id { event.id = id }
        return try await publish(event)
    }

    /// A consumer of `topic` in `group` (nil: a group of its own) with the other options' defaults.
    public func consume(_ topic: String, group: String? = nil, start: EventStartPosition = .new) async throws -> EventConsumer {
        try await consume(topic, options: ConsumeOptions(group: group, start: start))
    }
}
