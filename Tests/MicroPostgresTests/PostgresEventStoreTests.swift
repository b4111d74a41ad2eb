import EventsConformance
import Foundation
import MicroCore
import MicroPostgres
import MicroTestSupport
import Testing

/// The event store contract on a real PostgreSQL, and its bad input: rows that are not events, no server.
@Suite struct PostgresEventStoreTests {
    /// Every check on one server, each store in an events table of its own.
    static let suite = EventsConformance(backend: "postgres", store: { retention in
        let server = try await PostgresProcess.shared()
        let token = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        return try PostgresEventStore(configuration: try PostgresStoreConfiguration(url: server.url),
                                      scope: try StoreScope(database: "events", table: "c\(token)"), retention: retention)
    })

    @Test(arguments: EventStoreCheck.all) func conformance(_ check: EventStoreCheck) async throws {
        try await Self.suite.run(check)
    }

    @Test func rowsThatAreNotEventsFailTheReadAndOtherTopicsReadOn() async throws {
        let server = try await PostgresProcess.shared()
        let store = try PostgresEventStore(configuration: try PostgresStoreConfiguration(url: server.url),
                                           scope: try StoreScope(database: "events", table: "badrows"))
        try await store.write(Event(topic: "good.topic", payload: [1], id: "fine"))
        try await store.write(Event(topic: "bad.metadata", payload: [1], id: "a"))
        try await store.write(Event(topic: "bad.topic", payload: [1], id: "b"))
        _ = try await server.psql("UPDATE \(store.tableName) SET metadata = '[1,2]' WHERE topic = 'bad.metadata'")
        _ = try await server.psql("INSERT INTO \(store.tableName) (seq, topic, id, time, metadata, payload) VALUES (999999, 'bad.topic', '', 1, '{}', '')")
        for topic in ["bad.metadata", "bad.topic"] {
            do {
                _ = try await store.read(topic)
                Issue.record("a read of \(topic) succeeded")
            } catch let error as EventsError {
                #expect(error.code == .malformed, "\(error)")
            }
        }
        #expect(try await store.read("good.topic").map(\.id) == ["fine"])
        let later = try await store.write(Event(topic: "good.topic", payload: [2], id: "later"))
        #expect(!later.duplicate)
        await store.shutdown()
    }

    @Test func noServerIsUnavailableWithoutHanging() async throws {
        let configuration = try PostgresStoreConfiguration(url: "postgres://postgres@127.0.0.1:\(try freePort())/postgres",
                                                           operationTimeout: .seconds(2))
        let store = try PostgresEventStore(configuration: configuration)
        let started = ContinuousClock.now
        for attempt in 0..<2 {
            do {
                if attempt == 0 { try await store.write(Event(topic: "t", payload: [])) } else { _ = try await store.read("t") }
                Issue.record("succeeded without a server")
            } catch let error as EventsError {
                #expect(error.code == .unavailable, "\(error)")
            }
        }
        #expect(ContinuousClock.now - started < .seconds(30))
        await store.shutdown()
    }
}
