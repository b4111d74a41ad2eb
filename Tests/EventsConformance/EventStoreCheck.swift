import Foundation
import MicroCore

/// One behaviour of the event store contract, run by ``EventsConformance/run(_:)-(EventStoreCheck)``.
public struct EventStoreCheck: Sendable, CustomStringConvertible {
    /// The check's name, as test reports show it.
    public let name: String
    let body: @Sendable (EventsCheckContext) async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable (EventsCheckContext) async throws -> Void) {
        self.name = name
        self.body = body
    }

    public var description: String { name }

    /// Every check.
    public static let all: [EventStoreCheck] = [
        EventStoreCheck("write then read in time order, with every field") { c in
            let store = try await c.store()
            let topic = c.topic("series")
            let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 60).rounded(.down))
            // Written out of time order: reads order by timestamp.
            for n in [2, 0, 4, 1, 3] {
                let event = Event(topic: topic, payload: Array("v\(n)".utf8), metadata: ["n": "\(n)"], id: "e\(n)",
                                  timestamp: base.addingTimeInterval(Double(n) + 0.123))
                let receipt = try await store.write(event)
                try c.expect(!receipt.duplicate && receipt.sequence > 0, "write e\(n): \(receipt)")
            }
            let events = try await store.read(topic, EventQuery())
            try c.expectEqual(events.map(\.id), ["e0", "e1", "e2", "e3", "e4"], "ascending by time")
            let third = events[2]
            try c.expectEqual(third.text, "v2", "payload")
            try c.expectEqual(third.metadata, ["n": "2"], "metadata")
            try c.expectEqual(third.topic, topic, "topic")
            try c.expectEqual(Event.epochMilliseconds(third.timestamp), Event.epochMilliseconds(base) + 2123, "timestamp to the millisecond")
            try c.expect(third.sequence > 0, "a stored event has a sequence")
            try await c.expectError(.invalidArgument, "ack of a stored event") { try await third.ack() }
            try c.expectEqual(try await store.read(c.topic("other"), EventQuery()).count, 0, "another topic is empty")
        },
        EventStoreCheck("descending order, offset and limit") { c in
            let store = try await c.store()
            let topic = c.topic("paged")
            let base = Date().addingTimeInterval(-100)
            for n in 0..<10 {
                try await store.write(Event(topic: topic, payload: [UInt8(n)], id: "e\(n)", timestamp: base.addingTimeInterval(Double(n))))
            }
            try c.expectEqual(try await store.read(topic, EventQuery(limit: 3)).map(\.id), ["e0", "e1", "e2"], "limit")
            try c.expectEqual(try await store.read(topic, EventQuery(limit: 3, offset: 8)).map(\.id), ["e8", "e9"], "offset past most")
            try c.expectEqual(try await store.read(topic, EventQuery(limit: 2, offset: 1, order: .descending)).map(\.id), ["e8", "e7"], "descending")
            try c.expectEqual(try await store.read(topic, EventQuery(offset: 20)).count, 0, "offset past all")
        },
        EventStoreCheck("time range: from inclusive, to exclusive") { c in
            let store = try await c.store()
            let topic = c.topic("range")
            let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 100).rounded(.down))
            for n in 0..<6 {
                try await store.write(Event(topic: topic, payload: [], id: "e\(n)", timestamp: base.addingTimeInterval(Double(n))))
            }
            let range = EventQuery(from: base.addingTimeInterval(2), to: base.addingTimeInterval(4))
            try c.expectEqual(try await store.read(topic, range).map(\.id), ["e2", "e3"], "[2, 4)")
            try c.expectEqual(try await store.read(topic, EventQuery(from: base.addingTimeInterval(4.5))).map(\.id), ["e5"], "from only")
            try c.expectEqual(try await store.read(topic, EventQuery(to: base.addingTimeInterval(1))).map(\.id), ["e0"], "to only")
        },
        EventStoreCheck("a write of an id the topic holds stores nothing") { c in
            let store = try await c.store()
            let topic = c.topic("dedupe")
            let first = try await store.write(Event(topic: topic, payload: Array("a".utf8), id: "same"))
            let second = try await store.write(Event(topic: topic, payload: Array("b".utf8), id: "same"))
            try c.expect(!first.duplicate && second.duplicate, "second write is a duplicate: \(first) \(second)")
            try c.expectEqual(second.sequence, first.sequence, "the duplicate names the stored event")
            let events = try await store.read(topic, EventQuery())
            try c.expectEqual(events.map(\.text), ["a"], "one event, the first")
        },
        EventStoreCheck("retention by count keeps the latest events of each topic") { c in
            let store = try await c.store(EventRetention(maxCount: 3))
            let topic = c.topic("counted")
            let other = c.topic("counted2")
            for n in 0..<7 { try await store.write(Event(topic: topic, payload: [], id: "e\(n)")) }
            try await store.write(Event(topic: other, payload: [], id: "o"))
            try c.expectEqual(try await store.read(topic, EventQuery()).map(\.id), ["e4", "e5", "e6"], "the latest three")
            try c.expectEqual(try await store.read(other, EventQuery()).map(\.id), ["o"], "per topic")
        },
        EventStoreCheck("retention by age: older events are never read") { c in
            let store = try await c.store(EventRetention(maxAge: .seconds(3600)))
            let topic = c.topic("aged")
            try await store.write(Event(topic: topic, payload: [], id: "old", timestamp: Date().addingTimeInterval(-7200)))
            try await store.write(Event(topic: topic, payload: [], id: "new"))
            try c.expectEqual(try await store.read(topic, EventQuery()).map(\.id), ["new"], "only the young event")
        },
        EventStoreCheck("invalid topics, queries and oversized events are refused with typed errors") { c in
            let store = try await c.store()
            let topic = c.topic("valid")
            for bad in ["", "a..b", "a b", "a.*", String(repeating: "t", count: 129)] {
                try await c.expectError(.invalidTopic, "write to \(bad.debugDescription)") { try await store.write(Event(topic: bad, payload: [])) }
                try await c.expectError(.invalidTopic, "read \(bad.debugDescription)") { try await store.read(bad, EventQuery()) }
            }
            try await c.expectError(.tooLarge, "oversized payload") {
                try await store.write(Event(topic: topic, payload: [UInt8](repeating: 1, count: store.limits.maxPayloadBytes + 1)))
            }
            try await c.expectError(.invalidArgument, "empty id") { try await store.write(Event(topic: topic, payload: [], id: "")) }
            try await c.expectError(.invalidArgument, "limit 0") { try await store.read(topic, EventQuery(limit: 0)) }
            try await c.expectError(.invalidArgument, "limit too high") { try await store.read(topic, EventQuery(limit: EventQuery.maxLimit + 1)) }
            try await c.expectError(.invalidArgument, "negative offset") { try await store.read(topic, EventQuery(offset: -1)) }
            try await c.expectError(.invalidArgument, "range ending before it starts") {
                try await store.read(topic, EventQuery(from: Date(), to: Date().addingTimeInterval(-1)))
            }
            try c.expectEqual(try await store.read(topic, EventQuery()).count, 0, "nothing refused was stored")
        },
        EventStoreCheck("a shut-down store refuses with unavailable") { c in
            let store = try await c.store()
            await store.shutdown()
            try await c.expectError(.unavailable, "write after shutdown") { try await store.write(Event(topic: c.topic("late"), payload: [])) }
            try await c.expectError(.unavailable, "read after shutdown") { try await store.read(c.topic("late"), EventQuery()) }
        },
    ]
}
