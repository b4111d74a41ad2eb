/// Events kept by topic and read back by time (go-micro's `events.Store`, a timeseries).
///
/// Writes are idempotent by ``Event/id`` like ``EventStream/publish(_:)``. Reads return a topic's events
/// in a time range, ordered by ``Event/timestamp`` (then ``Event/sequence``), after an offset and up to a
/// limit (``EventQuery``). The store's ``EventRetention`` removes events by age or keeps the latest
/// per topic; an event past its age is never read. A stored event that cannot be read back fails the
/// read with ``EventsError/Code/malformed``.
///
/// Implementations: ``MemoryEventStore``, and in engine modules JetStream (`MicroNATS`) and PostgreSQL
/// (`MicroPostgres`). The `EventsConformance` test suite states the contract.
public protocol EventStore: Engine {
    /// The backend's name as `MICRO_EVENT_STORE` spells it (`memory`, `nats`, `postgres`).
    var name: String { get }
    /// The largest event a write may carry.
    var limits: EventLimits { get }
    /// What the store keeps.
    var retention: EventRetention { get }

    /// Stores `event` under its topic.
    @discardableResult
    func write(_ event: Event) async throws -> EventReceipt

    /// The events of `topic` that `query` selects.
    func read(_ topic: String, _ query: EventQuery) async throws -> [Event]
}

extension EventStore {
    /// The oldest 250 events of `topic`.
    public func read(_ topic: String) async throws -> [Event] {
        try await read(topic, EventQuery())
    }
}
