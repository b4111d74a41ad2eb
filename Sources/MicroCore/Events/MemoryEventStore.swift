import Foundation
import Synchronization

/// An ``EventStore`` in process memory (`MICRO_EVENT_STORE=memory`): per topic, the events in the
/// order written, with the store's retention applied on every write and read. Ids are remembered
/// while their event is kept. For tests and single processes.
public final class MemoryEventStore: EventStore {
    /// Always `memory`.
    public let name = "memory"
    public let limits: EventLimits
    public let retention: EventRetention

    private struct State {
        var sequence: UInt64 = 0
        var topics: [String: [Event]] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    private let closeOnShutdown: Bool

    /// An empty store; throws ``EventsError/Code/invalidArgument`` for a retention out of range.
    /// With `closeOnShutdown` false, ``shutdown()`` leaves the store open (the process-wide one).
    public convenience init(limits: EventLimits = EventLimits(), retention: EventRetention = EventRetention(), closeOnShutdown: Bool = true) throws {
        try retention.validate()
        self.init(validLimits: limits, retention: retention, closeOnShutdown: closeOnShutdown)
    }

    /// The process-wide store behind `MICRO_EVENT_STORE=memory`: default limits and retention (valid
    /// by construction, so nothing to throw), left open by ``shutdown()``.
    package static func processShared() -> MemoryEventStore {
        MemoryEventStore(validLimits: EventLimits(), retention: EventRetention(), closeOnShutdown: false)
    }

    private init(validLimits limits: EventLimits, retention: EventRetention, closeOnShutdown: Bool) {
        self.closeOnShutdown = closeOnShutdown
        self.limits = limits
        self.retention = retention
    }

    @discardableResult
    public func write(_ event: Event) async throws -> EventReceipt {
        try limits.validate(event)
        let retention = self.retention
        return try state.withLock { s in
            guard !s.closed else { throw EventsError(.unavailable, "the memory event store is shut down") }
            var events = s.topics[event.topic] ?? []
            Self.prune(&events, retention)
            if let existing = events.first(where: { $0.id == event.id }) {
                s.topics[event.topic] = events
                return EventReceipt(id: event.id, sequence: existing.sequence, duplicate: true)
            }
            s.sequence += 1
            var stored = event
            stored.sequence = s.sequence
            stored.deliveries = 0
            stored.acknowledger = nil
            events.append(stored)
            Self.prune(&events, retention)
            s.topics[event.topic] = events
            return EventReceipt(id: event.id, sequence: stored.sequence, duplicate: false)
        }
    }

    public func read(_ topic: String, _ query: EventQuery) async throws -> [Event] {
        try EventTopic.validate(topic)
        try query.validate()
        let retention = self.retention
        return try state.withLock { s in
            guard !s.closed else { throw EventsError(.unavailable, "the memory event store is shut down") }
            var events = s.topics[topic] ?? []
            Self.prune(&events, retention)
            s.topics[topic] = events.isEmpty ? nil : events
            return query.apply(events)
        }
    }

    /// Later operations fail (unless made with `closeOnShutdown` false) with ``EventsError/Code/unavailable``; the events are dropped.
    public func shutdown() async {
        guard closeOnShutdown else { return }
        state.withLock { s in
            s.closed = true
            s.topics = [:]
        }
    }

    /// Drops events past the age, then all but the latest `maxCount`.
    private static func prune(_ events: inout [Event], _ retention: EventRetention) {
        if let oldest = retention.oldestMilliseconds(now: Event.epochMilliseconds(Date())) {
            events.removeAll { Event.epochMilliseconds($0.timestamp) < oldest }
        }
        if let maxCount = retention.maxCount, events.count > maxCount {
            events.removeFirst(events.count - maxCount)
        }
    }
}
