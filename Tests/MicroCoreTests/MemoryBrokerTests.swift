import MicroCore
import Testing

@Suite struct MemoryBrokerTests {
    func message(_ text: String) -> BrokerMessage { BrokerMessage(header: ["Micro-Topic": "t"], body: Array(text.utf8)) }
    func text(_ e: BrokerEvent) -> String { String(decoding: e.message.body, as: UTF8.self) }

    @Test func broadcastReachesEverySubscriber() async throws {
        let broker = MemoryBroker()
        #expect(broker.name == "memory")
        let got = Locked<[String: [String]]>([:])
        for name in ["a", "b", "c"] {
            let sub = try await broker.subscribe("news", queue: nil) { e in got.withLock { $0[name, default: []].append(self.text(e)) } }
            #expect(sub.topic == "news")
            #expect(sub.queue == nil)
        }
        try await broker.publish("news", message("one"))
        try await broker.publish("news", message("two"))
        #expect(got.value == ["a": ["one", "two"], "b": ["one", "two"], "c": ["one", "two"]])
    }

    @Test func topicsAreSeparate() async throws {
        let broker = MemoryBroker()
        let got = Locked<[String]>([])
        _ = try await broker.subscribe("a", queue: nil) { e in got.withLock { $0.append("a:" + self.text(e)) } }
        _ = try await broker.subscribe("b", queue: nil) { e in got.withLock { $0.append("b:" + self.text(e)) } }
        try await broker.publish("a", message("1"))
        try await broker.publish("c", message("lost"))  // nobody listens: not an error
        try await broker.publish("b", message("2"))
        #expect(got.value == ["a:1", "b:2"])
    }

    @Test func deliveredEventCarriesTopicAndMessage() async throws {
        let broker = MemoryBroker()
        let got = Locked<[BrokerEvent]>([])
        _ = try await broker.subscribe("orders", queue: nil) { e in got.withLock { $0.append(e) } }
        let m = BrokerMessage(header: ["Content-Type": "application/json", "Micro-Topic": "orders"], body: [1, 2, 3])
        try await broker.publish("orders", m)
        #expect(got.value.count == 1)
        #expect(got.value.first?.topic == "orders")
        #expect(got.value.first?.message == m)
    }

    @Test func queueGroupDeliversEachMessageToExactlyOneMember() async throws {
        let broker = MemoryBroker()
        let got = Locked<[String: [String]]>([:])
        for name in ["w1", "w2", "w3"] {
            let sub = try await broker.subscribe("jobs", queue: "workers") { e in got.withLock { $0[name, default: []].append(self.text(e)) } }
            #expect(sub.queue == "workers")
        }
        let messages = (0..<30).map { "job\($0)" }
        for m in messages { try await broker.publish("jobs", message(m)) }
        let all = got.value.values.flatMap { $0 }
        #expect(all.count == 30)
        #expect(Set(all) == Set(messages), "every message delivered once, none twice")
        // Round robin: each member gets an equal share, in turn.
        #expect(got.value.values.allSatisfy { $0.count == 10 })
        for (_, received) in got.value {
            let indices = received.map { Int($0.dropFirst(3))! }
            for i in 1..<indices.count { #expect(indices[i] - indices[i - 1] == 3) }
        }
    }

    @Test func queueGroupsAndBroadcastCombine() async throws {
        let broker = MemoryBroker()
        let got = Locked<[String: Int]>([:])
        for (name, queue) in [("q1a", "q1"), ("q1b", "q1"), ("q2a", "q2"), ("bc", nil)] as [(String, String?)] {
            _ = try await broker.subscribe("events", queue: queue) { _ in got.withLock { $0[name, default: 0] += 1 } }
        }
        for _ in 0..<4 { try await broker.publish("events", message("x")) }
        let counts = got.value
        #expect(counts["bc"] == 4)
        #expect(counts["q2a"] == 4)
        #expect((counts["q1a"] ?? 0) + (counts["q1b"] ?? 0) == 4)
        #expect(counts["q1a"] == 2)
        #expect(counts["q1b"] == 2)
    }

    @Test func unsubscribeStopsDelivery() async throws {
        let broker = MemoryBroker()
        let got = Locked<[String]>([])
        let a = try await broker.subscribe("news", queue: nil) { e in got.withLock { $0.append("a:" + self.text(e)) } }
        _ = try await broker.subscribe("news", queue: nil) { e in got.withLock { $0.append("b:" + self.text(e)) } }
        try await broker.publish("news", message("1"))
        try await a.unsubscribe()
        try await broker.publish("news", message("2"))
        #expect(got.value.sorted() == ["a:1", "b:1", "b:2"])
    }

    @Test func unsubscribedQueueMemberGetsNoMore() async throws {
        let broker = MemoryBroker()
        let got = Locked<[String: Int]>([:])
        let w1 = try await broker.subscribe("jobs", queue: "w") { _ in got.withLock { $0["w1", default: 0] += 1 } }
        _ = try await broker.subscribe("jobs", queue: "w") { _ in got.withLock { $0["w2", default: 0] += 1 } }
        try await w1.unsubscribe()
        for _ in 0..<5 { try await broker.publish("jobs", message("x")) }
        #expect(got.value == ["w2": 5])
    }

    @Test func handlerErrorReachesPublisherButOthersStillGetIt() async throws {
        let broker = MemoryBroker()
        let got = Locked(0)
        _ = try await broker.subscribe("t", queue: nil) { _ in throw MicroError.internalServerError("sub", "nope") }
        _ = try await broker.subscribe("t", queue: nil) { _ in got.withLock { $0 += 1 } }
        let error = await #expect(throws: MicroError.self) { try await broker.publish("t", message("x")) }
        #expect(error?.detail == "nope")
        #expect(got.value == 1)
    }
}
