import EventsConformance
import MicroCore
import Testing

/// The event stream and event store contracts on the in-memory backends.
@Suite struct MemoryEventsTests {
    static let suite = EventsConformance(backend: "memory", stream: { MemoryEventStream() },
                                         store: { retention in try MemoryEventStore(retention: retention) })

    @Test(arguments: EventStreamCheck.all) func stream(_ check: EventStreamCheck) async throws {
        try await Self.suite.run(check)
    }

    @Test(arguments: EventStoreCheck.all) func store(_ check: EventStoreCheck) async throws {
        try await Self.suite.run(check)
    }

    @Test func invalidRetentionIsRefused() {
        #expect(throws: EventsError.self) { try MemoryEventStore(retention: EventRetention(maxCount: 0)) }
        #expect(throws: EventsError.self) { try MemoryEventStore(retention: EventRetention(maxAge: .zero)) }
    }

    @Test func errorsCrossTheWireAsMicroErrors() {
        #expect(EventsError(.invalidTopic, "x").microError.code == 400)
        #expect(EventsError(.tooLarge, "x").microError.code == 413)
        #expect(EventsError(.unavailable, "x").microError.code == 503)
        #expect(EventsError(.malformed, "x").microError.code == 500)
    }
}
