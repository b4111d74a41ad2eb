import MicroCore
import Testing

@Suite struct MemoryRegistryTests {
    @Test func registerGetListDeregister() async throws {
        let registry = MemoryRegistry()
        #expect(registry.name == "memory")
        #expect(try await registry.getService("greeter").isEmpty)
        try await registry.register(record("greeter", node("g1")))
        try await registry.register(record("store", node("s1")))
        let got = try await registry.getService("greeter")
        #expect(got.count == 1)
        #expect(got.first?.nodes.map(\.id) == ["g1"])
        #expect(try await registry.listServices().map(\.name) == ["greeter", "store"])
        try await registry.deregister(record("greeter", node("g1")))
        #expect(try await registry.getService("greeter").isEmpty)
        #expect(try await registry.listServices().map(\.name) == ["store"])
    }

    @Test func ttlExpiresNodesOnRead() async throws {
        let registry = MemoryRegistry()
        let clock = ContinuousClock()
        let start = clock.now
        try await registry.register(record("greeter", node("short")), ttl: .milliseconds(400))
        try await registry.register(record("greeter", node("long")), ttl: .seconds(60))
        let before = try await registry.getService("greeter").first?.nodes.count
        if clock.now - start < .milliseconds(350) { #expect(before == 2) }
        try await Task.sleep(until: start + .milliseconds(500), clock: clock)
        #expect(try await registry.getService("greeter").first?.nodes.map(\.id) == ["long"])
    }

    @Test func watchSeesCreateUpdateDelete() async throws {
        let registry = MemoryRegistry()
        let collector = EventCollector(try await registry.watch(service: nil))
        defer { collector.stop() }
        try await registry.register(record("greeter", node("g1")))
        try await registry.register(record("greeter", node("g1")))  // heartbeat: no event
        try await registry.register(record("greeter", node("g2")))
        try await registry.deregister(record("greeter", node("g1")))
        try await registry.deregister(record("greeter", node("g2")))
        let events = await collector.wait(count: 4)
        #expect(events.map(\.action) == [.create, .update, .update, .delete])
        #expect(events.map { $0.service.nodes.map(\.id) } == [["g1"], ["g1", "g2"], ["g2"], ["g2"]])
        // Nothing more arrives.
        try await Task.sleep(for: .milliseconds(50))
        #expect(collector.events.value.count == 4)
    }

    @Test func watchForOneServiceIgnoresOthers() async throws {
        let registry = MemoryRegistry()
        let collector = EventCollector(try await registry.watch(service: "greeter"))
        defer { collector.stop() }
        try await registry.register(record("store", node("s1")))
        try await registry.register(record("greeter", node("g1")))
        try await registry.register(record("store", node("s2")))
        let events = await collector.wait(count: 1)
        try await Task.sleep(for: .milliseconds(50))
        #expect(collector.events.value.count == 1)
        #expect(events.first?.service.name == "greeter")
        #expect(events.first?.action == .create)
    }

    @Test func expiryProducesDeleteEvent() async throws {
        let registry = MemoryRegistry()
        let collector = EventCollector(try await registry.watch(service: nil))
        defer { collector.stop() }
        try await registry.register(record("greeter", node("g1")), ttl: .milliseconds(100))
        try await Task.sleep(for: .milliseconds(200))
        registry.sweep()
        let events = await collector.wait(count: 2)
        #expect(events.map(\.action) == [.create, .delete])
        #expect(events.last?.service.nodes.map(\.id) == ["g1"])
        #expect(try await registry.getService("greeter").isEmpty)
    }

    @Test func readsAlsoEmitExpiryEvents() async throws {
        let registry = MemoryRegistry()
        try await registry.register(record("greeter", node("g1")), ttl: .milliseconds(50))
        let collector = EventCollector(try await registry.watch(service: "greeter"))
        defer { collector.stop() }
        try await Task.sleep(for: .milliseconds(150))
        _ = try await registry.listServices()
        let events = await collector.wait(count: 1)
        #expect(events.map(\.action) == [.delete])
    }

    @Test func manyNodesOfOneService() async throws {
        let registry = MemoryRegistry()
        let ids = (0..<100).map { "greeter-\($0)" }
        for id in ids { try await registry.register(record("greeter", node(id))) }
        let records = try await registry.getService("greeter")
        #expect(records.count == 1)
        #expect(records.first?.nodes.map(\.id) == ids)
        #expect(Set(records.first?.nodes.map(\.address) ?? []).count == 100)
    }

    @Test func concurrentRegistrations() async throws {
        let registry = MemoryRegistry()
        let collector = EventCollector(try await registry.watch(service: nil))
        defer { collector.stop() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try await registry.register(record("svc\(i % 4)", node("n\(i)")), ttl: .seconds(60))
                }
            }
            try await group.waitForAll()
        }
        let all = try await registry.listServices()
        #expect(all.map(\.name) == ["svc0", "svc1", "svc2", "svc3"])
        #expect(all.allSatisfy { $0.nodes.count == 50 })
        #expect(Set(all.flatMap(\.nodes).map(\.id)).count == 200)
        let events = await collector.wait(count: 200)
        #expect(events.count == 200)
        #expect(events.filter { $0.action == .create }.count == 4)
        #expect(events.filter { $0.action == .update }.count == 196)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { try await registry.deregister(record("svc\(i % 4)", node("n\(i)"))) }
            }
            try await group.waitForAll()
        }
        #expect(try await registry.listServices().isEmpty)
        let after = await collector.wait(count: 400)
        #expect(after.filter { $0.action == .delete }.count == 4)
    }

    @Test func watchEndsWhenConsumerCancels() async throws {
        let registry = MemoryRegistry()
        let watch = try await registry.watch(service: nil)
        let task = Task { var n = 0; do { for try await _ in watch { n += 1 } } catch {}; return n }
        try await registry.register(record("greeter", node("g1")))
        task.cancel()
        let n = await task.value
        #expect(n <= 1)
        // Registering after the consumer left must not crash or block.
        try await registry.register(record("greeter", node("g2")))
    }
}
