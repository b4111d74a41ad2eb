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

/// What only the memory stream does: a bounded log per topic.
@Suite struct MemoryEventStreamBoundTests {
    @Test func aTopicKeepsItsLatestEventsAndGroupsSkipWhatWentMissing() async throws {
        let stream = MemoryEventStream(maxEventsPerTopic: 3)
        let early = try await stream.consume("bounded", options: ConsumeOptions(group: "early", start: .beginning))
        for n in 0..<5 { try await stream.publish("bounded", [UInt8(n)], id: "e\(n)") }
        // A group made now from the beginning sees only the three kept.
        let late = try await stream.consume("bounded", options: ConsumeOptions(group: "late", start: .beginning))
        var iterator = late.makeAsyncIterator()
        var ids: [String] = []
        for _ in 0..<3 {
            let event = try #require(try await iterator.next())
            ids.append(event.id)
            try await event.ack()
        }
        #expect(ids == ["e2", "e3", "e4"])
        // The group made before the first publish lost the two dropped events, not its place.
        var earlyIterator = early.makeAsyncIterator()
        let first = try #require(try await earlyIterator.next())
        #expect(first.id == "e2")
        await stream.shutdown()
    }
}
