import Foundation
import MicroCore

/// One behaviour of the event stream contract, run by ``EventsConformance/run(_:)-(EventStreamCheck)``.
public struct EventStreamCheck: Sendable, CustomStringConvertible {
    /// The check's name, as test reports show it.
    public let name: String
    let body: @Sendable (EventsCheckContext) async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable (EventsCheckContext) async throws -> Void) {
        self.name = name
        self.body = body
    }

    public var description: String { name }

    /// Every check.
    public static let all: [EventStreamCheck] = basics + delivery + validation

    static let basics: [EventStreamCheck] = [
        EventStreamCheck("publish then consume from the beginning, in order, with id and metadata") { c in
            let stream = try await c.stream()
            let topic = c.topic("orders")
            var receipts: [EventReceipt] = []
            for n in 0..<3 {
                receipts.append(try await stream.publish(topic, Array("order \(n)".utf8), metadata: ["n": "\(n)", "kind": "test"], id: "id-\(n)"))
            }
            try c.expect(receipts.allSatisfy { !$0.duplicate }, "fresh ids are not duplicates: \(receipts)")
            try c.expect(zip(receipts, receipts.dropFirst()).allSatisfy { $0.sequence < $1.sequence }, "sequences increase: \(receipts)")
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "g1", start: .beginning))
            for n in 0..<3 {
                let event = try await c.next(consumer, "event \(n)")
                try c.expectEqual(event.id, "id-\(n)", "id")
                try c.expectEqual(event.topic, topic, "topic")
                try c.expectEqual(event.text, "order \(n)", "payload")
                try c.expectEqual(event.metadata, ["n": "\(n)", "kind": "test"], "metadata")
                try c.expectEqual(event.sequence, receipts[n].sequence, "sequence")
                try c.expectEqual(event.deliveries, 1, "first delivery")
                try await event.ack()
            }
            await consumer.close()
        },
        EventStreamCheck("a publish of an id the topic holds stores nothing") { c in
            let stream = try await c.stream()
            let topic = c.topic("dedupe")
            let first = try await stream.publish(topic, Array("a".utf8), id: "same")
            let second = try await stream.publish(topic, Array("b".utf8), id: "same")
            try c.expect(!first.duplicate && second.duplicate, "second publish is a duplicate: \(first) \(second)")
            // The same id on another topic is another event.
            let other = try await stream.publish(c.topic("dedupe2"), Array("c".utf8), id: "same")
            try c.expect(!other.duplicate, "the same id on another topic is stored")
            try await stream.publish(topic, Array("z".utf8), id: "last")
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "g", start: .beginning))
            let one = try await c.next(consumer, "first")
            let two = try await c.next(consumer, "second")
            try c.expectEqual([one.text, two.text], ["a", "z"], "the duplicate was not stored")
            try await one.ack()
            try await two.ack()
            await consumer.close()
        },
        EventStreamCheck("members of a group share the events; another group gets all of them") { c in
            let stream = try await c.stream()
            let topic = c.topic("shared")
            let a = try await stream.consume(topic, options: ConsumeOptions(group: "workers", start: .beginning))
            let b = try await stream.consume(topic, options: ConsumeOptions(group: "workers", start: .beginning))
            let audit = try await stream.consume(topic, options: ConsumeOptions(group: "audit", start: .beginning))
            let count = 20
            for n in 0..<count { try await stream.publish(topic, Array("\(n)".utf8), id: "e\(n)") }
            // Both members take events until the group has them all (or 30 s pass): a member's idle
            // moment must not end it while the other still holds a batch.
            let taken = EventsTally()
            let deadline = ContinuousClock.now + .seconds(30)
            let seen = try await withThrowingTaskGroup(of: [String].self) { group in
                for consumer in [a, b] {
                    group.addTask {
                        var ids: [String] = []
                        while taken.count < count, ContinuousClock.now < deadline {
                            guard let event = try await c.nextOrNil(consumer, within: .milliseconds(500)) else { continue }
                            ids.append(event.id)
                            taken.add(event.id)
                            try await event.ack()
                        }
                        return ids
                    }
                }
                var all: [[String]] = []
                for try await ids in group { all.append(ids) }
                return all
            }
            let merged = seen.flatMap { $0 }
            try c.expectEqual(Set(merged), Set((0..<count).map { "e\($0)" }), "the group got every event")
            try c.expectEqual(merged.count, count, "each event went to one member")
            var audited: Set<String> = []
            while audited.count < count {
                let event = try await c.next(audit, "audit event")
                audited.insert(event.id)
                try await event.ack()
            }
            await a.close()
            await b.close()
            await audit.close()
        },
        EventStreamCheck("a group keeps its place: a later member gets only what was not acknowledged") { c in
            let stream = try await c.stream()
            let topic = c.topic("place")
            for n in 0..<3 { try await stream.publish(topic, Array("\(n)".utf8), id: "p\(n)") }
            let first = try await stream.consume(topic, options: ConsumeOptions(group: "keeper", start: .beginning, ackWait: .seconds(1)))
            for n in 0..<2 {
                let event = try await c.next(first, "event \(n)")
                try c.expectEqual(event.id, "p\(n)", "order")
                try await event.ack()
            }
            await first.close()
            // Starting "from the beginning" again does not move an existing group.
            let second = try await stream.consume(topic, options: ConsumeOptions(group: "keeper", start: .beginning, ackWait: .seconds(1)))
            let event = try await c.next(second, "the unacknowledged event")
            try c.expectEqual(event.id, "p2", "the group goes on after its acknowledged events")
            try await event.ack()
            await second.close()
        },
        EventStreamCheck("a member joining a group with other settings is refused with conflict; another start position joins") { c in
            let stream = try await c.stream()
            let topic = c.topic("settings")
            try await stream.publish(topic, Array("x".utf8), id: "s0")
            let first = try await stream.consume(topic, options: ConsumeOptions(group: "set", start: .beginning, ackWait: .seconds(5), maxDeliveries: 3))
            for other in [ConsumeOptions(group: "set", start: .beginning, ackWait: .seconds(6), maxDeliveries: 3),
                          ConsumeOptions(group: "set", start: .beginning, ackWait: .seconds(5)),
                          ConsumeOptions(group: "set", start: .beginning, ackWait: .seconds(5), maxDeliveries: 3, deadLetterTopic: c.topic("elsewhere"))] {
                try await c.expectError(.conflict, "joining with \(other.groupSettings(topic: topic))") { _ = try await stream.consume(topic, options: other) }
            }
            // The start position only places a new group: a member asking for another one joins.
            let second = try await stream.consume(topic, options: ConsumeOptions(group: "set", start: .new, ackWait: .seconds(5), maxDeliveries: 3))
            let event = try await c.next(first, "the event")
            try c.expectEqual(event.id, "s0", "id")
            try await event.ack()
            await second.close()
            await first.close()
        },
        EventStreamCheck("start positions: beginning, a sequence, a time, only new") { c in
            let stream = try await c.stream()
            let topic = c.topic("start")
            let a = try await stream.publish(topic, Array("a".utf8), id: "a")
            try await Task.sleep(for: .milliseconds(50))
            let between = Date()
            try await Task.sleep(for: .milliseconds(50))
            let b = try await stream.publish(topic, Array("b".utf8), id: "b")
            try await stream.publish(topic, Array("c".utf8), id: "c")
            func ids(_ start: EventStartPosition, count: Int) async throws -> [String] {
                let consumer = try await stream.consume(topic, options: ConsumeOptions(start: start))
                var ids: [String] = []
                for _ in 0..<count {
                    let event = try await c.next(consumer, "event from \(start)")
                    ids.append(event.id)
                    try await event.ack()
                }
                await consumer.close()
                return ids
            }
            try c.expectEqual(try await ids(.beginning, count: 3), ["a", "b", "c"], "from the beginning")
            try c.expectEqual(try await ids(.sequence(b.sequence), count: 2), ["b", "c"], "from b's sequence")
            try c.expectEqual(try await ids(.sequence(a.sequence), count: 3), ["a", "b", "c"], "from a's sequence")
            try c.expectEqual(try await ids(.time(between), count: 2), ["b", "c"], "from a time between a and b")
            let fresh = try await stream.consume(topic, options: ConsumeOptions(start: .new))
            try await stream.publish(topic, Array("d".utf8), id: "d")
            let event = try await c.next(fresh, "a new event")
            try c.expectEqual(event.id, "d", "only new events")
            try await event.ack()
            await fresh.close()
        },
        EventStreamCheck("close ends a consumer that waits") { c in
            let stream = try await c.stream()
            let consumer = try await stream.consume(c.topic("idle"), options: ConsumeOptions(group: "idle"))
            let result = try await withThrowingTaskGroup(of: Event?.self) { group in
                group.addTask {
                    var iterator = consumer.makeAsyncIterator()
                    return try await iterator.next()
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(200))
                    await consumer.close()
                    try await Task.sleep(for: .seconds(10))
                    throw c.failure("the consumer did not end within 10 s of its close", line: #line, file: #fileID)
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            try c.expect(result == nil, "a closed consumer ends with nil, got \(String(describing: result))")
        },
    ]

    static let delivery: [EventStreamCheck] = [
        EventStreamCheck("an event not acknowledged within the ack wait is delivered again") { c in
            let stream = try await c.stream()
            let topic = c.topic("timeout")
            try await stream.publish(topic, Array("x".utf8), id: "x")
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "slow", start: .beginning, ackWait: .milliseconds(500)))
            let first = try await c.next(consumer, "first delivery")
            try c.expectEqual(first.deliveries, 1, "first delivery count")
            let again = try await c.next(consumer, "redelivery after the ack wait")
            try c.expectEqual(again.id, "x", "the same event")
            try c.expectEqual(again.deliveries, 2, "second delivery count")
            try await again.ack()
            let none = try await c.nextOrNil(consumer, within: .milliseconds(1200))
            try c.expect(none == nil, "an acknowledged event is not delivered again, got \(String(describing: none))")
            await consumer.close()
        },
        EventStreamCheck("a nacked event is delivered again at once") { c in
            let stream = try await c.stream()
            let topic = c.topic("nack")
            try await stream.publish(topic, Array("x".utf8), id: "x")
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "g", start: .beginning, ackWait: .seconds(30)))
            let first = try await c.next(consumer, "first delivery")
            try await first.nack()
            let again = try await c.next(consumer, within: .seconds(5), "redelivery after nack (long before the 30 s ack wait)")
            try c.expectEqual(again.id, "x", "the same event")
            try c.expectEqual(again.deliveries, 2, "delivery count")
            try await again.ack()
            await consumer.close()
        },
        EventStreamCheck("after max deliveries (nacks) the event goes to the dead-letter topic") { c in
            let stream = try await c.stream()
            let topic = c.topic("poison")
            let dead = c.topic("poison.dead")
            let letters = try await stream.consume(dead, options: ConsumeOptions(group: "ops", start: .beginning))
            try await stream.publish(topic, Array("bad".utf8), metadata: ["k": "v"], id: "bad")
            try await stream.publish(topic, Array("good".utf8), id: "good")
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "worker", start: .beginning, ackWait: .seconds(30),
                                                                                  maxDeliveries: 2))
            var good = 0
            var badDeliveries: [Int] = []
            while good == 0 || badDeliveries.count < 2 {
                let event = try await c.next(consumer, "delivery")
                if event.id == "good" {
                    good += 1
                    try await event.ack()
                } else {
                    badDeliveries.append(event.deliveries)
                    try await event.nack()
                }
            }
            try c.expectEqual(badDeliveries, [1, 2], "the poison event was delivered twice")
            let letter = try await c.next(letters, "the dead letter")
            try c.expectEqual(letter.id, "bad", "dead letter id")
            try c.expectEqual(letter.topic, dead, "dead letter topic")
            try c.expectEqual(letter.text, "bad", "dead letter payload")
            try c.expectEqual(letter.metadata["k"], "v", "the event's metadata")
            try c.expectEqual(letter.metadata[Event.deadLetterTopicKey], topic, "the topic it came from")
            try c.expectEqual(letter.metadata[Event.deadLetterGroupKey], "worker", "the group that gave up")
            try c.expectEqual(letter.metadata[Event.deadLetterDeliveriesKey], "2", "deliveries")
            try await letter.ack()
            let more = try await c.nextOrNil(consumer, within: .seconds(1))
            try c.expect(more == nil, "a dead-lettered event is not delivered again, got \(String(describing: more))")
            await consumer.close()
            await letters.close()
        },
        EventStreamCheck("after max deliveries (ack waits) the event goes to the named dead-letter topic") { c in
            let stream = try await c.stream()
            let topic = c.topic("stuck")
            let dead = c.topic("graveyard")
            try await stream.publish(topic, Array("x".utf8), id: "x")
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "w", start: .beginning, ackWait: .milliseconds(400),
                                                                                  maxDeliveries: 1, deadLetterTopic: dead))
            let first = try await c.next(consumer, "the only delivery")
            try c.expectEqual(first.id, "x", "event")
            let letters = try await stream.consume(dead, options: ConsumeOptions(start: .beginning))
            // The ack wait passes; a consumer of the group notices (by asking for more) and dead-letters it.
            let again = try await c.nextOrNil(consumer, within: .seconds(2))
            try c.expect(again == nil, "no delivery past max deliveries, got \(String(describing: again))")
            let letter = try await c.next(letters, "the dead letter")
            try c.expectEqual(letter.id, "x", "dead letter")
            try c.expectEqual(letter.metadata[Event.deadLetterDeliveriesKey], "1", "deliveries")
            try await letter.ack()
            await consumer.close()
            await letters.close()
        },
        EventStreamCheck("auto-ack: events are acknowledged as they are handed out") { c in
            let stream = try await c.stream()
            let topic = c.topic("auto")
            try await stream.publish(topic, Array("x".utf8), id: "x")
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "a", start: .beginning, ackWait: .milliseconds(300),
                                                                                  autoAck: true))
            let event = try await c.next(consumer, "the event")
            try c.expectEqual(event.id, "x", "event")
            let again = try await c.nextOrNil(consumer, within: .seconds(1))
            try c.expect(again == nil, "an auto-acknowledged event is not delivered again")
            await consumer.close()
        },
    ]

    static let validation: [EventStreamCheck] = [
        EventStreamCheck("invalid topics, groups, ids, options and oversized events are refused with typed errors") { c in
            let stream = try await c.stream()
            for topic in ["", "a..b", ".a", "a.", "a b", "a.*", "a.>", "a/b", "é", String(repeating: "t", count: 129)] {
                try await c.expectError(.invalidTopic, "publish to \(topic.debugDescription)") { try await stream.publish(topic, [1]) }
                try await c.expectError(.invalidTopic, "consume \(topic.debugDescription)") { try await stream.consume(topic, options: ConsumeOptions()) }
            }
            let topic = c.topic("valid")
            try await c.expectError(.tooLarge, "oversized payload") {
                try await stream.publish(topic, [UInt8](repeating: 7, count: stream.limits.maxPayloadBytes + 1))
            }
            try await c.expectError(.tooLarge, "oversized metadata") {
                try await stream.publish(topic, [1], metadata: ["m": String(repeating: "x", count: stream.limits.maxMetadataBytes + 1)])
            }
            try await c.expectError(.invalidArgument, "empty id") { try await stream.publish(topic, [1], id: "") }
            try await c.expectError(.invalidArgument, "id with a line break") { try await stream.publish(topic, [1], id: "a\r\nb") }
            try await c.expectError(.tooLarge, "long id") { try await stream.publish(topic, [1], id: String(repeating: "i", count: stream.limits.maxIDBytes + 1)) }
            try await c.expectError(.invalidArgument, "metadata value with a line break") { try await stream.publish(topic, [1], metadata: ["a": "x\ny"]) }
            for group in ["", "a.b", "a b", String(repeating: "g", count: 65)] {
                try await c.expectError(.invalidArgument, "group \(group.debugDescription)") {
                    try await stream.consume(topic, options: ConsumeOptions(group: group))
                }
            }
            try await c.expectError(.invalidArgument, "zero ack wait") { try await stream.consume(topic, options: ConsumeOptions(ackWait: .zero)) }
            try await c.expectError(.invalidArgument, "negative ack wait") { try await stream.consume(topic, options: ConsumeOptions(ackWait: .seconds(-1))) }
            try await c.expectError(.invalidArgument, "zero max deliveries") { try await stream.consume(topic, options: ConsumeOptions(maxDeliveries: 0)) }
            try await c.expectError(.invalidTopic, "bad dead-letter topic") {
                try await stream.consume(topic, options: ConsumeOptions(maxDeliveries: 1, deadLetterTopic: "a..b"))
            }
            try await c.expectError(.invalidArgument, "ack of an event no consumer delivered") { try await Event(topic: topic, payload: []).ack() }
            // Nothing refused was stored.
            let receipt = try await stream.publish(topic, [1], id: "ok")
            let consumer = try await stream.consume(topic, options: ConsumeOptions(start: .beginning))
            let event = try await c.next(consumer, "the one valid event")
            try c.expectEqual(event.sequence, receipt.sequence, "only the valid event is there")
            try await event.ack()
            await consumer.close()
        },
        EventStreamCheck("a shut-down stream refuses with unavailable") { c in
            let stream = try await c.stream()
            await stream.shutdown()
            try await c.expectError(.unavailable, "publish after shutdown") { try await stream.publish(c.topic("late"), [1]) }
        },
    ]
}
