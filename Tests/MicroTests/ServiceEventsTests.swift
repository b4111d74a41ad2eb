import Foundation
import Micro
import Testing

/// `service.events` and `service.eventStore`: chosen by `MICRO_EVENTS` and `MICRO_EVENT_STORE` (memory,
/// one per process, by default), or given.
@Suite struct ServiceEventsTests {
    @Test func theDefaultsAreTheProcessWideMemoryEnginesWhichOutliveAService() async throws {
        let directory = NSTemporaryDirectory() + "micro-service-events-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = MicroEnvironment(["MICRO_HOME": directory])
        let one = try MicroService(name: "events-a", environment: environment)
        let two = try MicroService(name: "events-b", environment: environment)
        #expect(one.events.name == "memory" && one.eventStore.name == "memory")
        let topic = "service.events.\(UUID().uuidString.prefix(8))"
        // Two services of one process share the memory stream: one publishes, the other consumes.
        let consumer = try await two.events.consume(topic, options: ConsumeOptions(group: "b", start: .beginning))
        try await one.events.publish(topic, Array("hi".utf8), id: "x")
        var iterator = consumer.makeAsyncIterator()
        let event = try #require(try await iterator.next())
        #expect(event.id == "x" && event.text == "hi")
        try await event.ack()
        await consumer.close()
        // Stopping a service leaves the process-wide engines open for the others.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await one.run() }
            #expect(await poll(timeout: .seconds(10)) { one.address != nil })
            one.stop()
            try await group.waitForAll()
        }
        #expect(try await two.events.publish(topic, [1]).sequence > 0)
        try await two.eventStore.write(Event(topic: topic, payload: [2], id: "kept"))
        #expect(try await two.eventStore.read(topic).map(\.id) == ["kept"])
    }

    @Test func anUnknownEngineFailsTheServiceWithTheNamesThereAre() {
        let environment = MicroEnvironment(["MICRO_EVENTS": "kafka"])
        #expect(throws: ConfigurationError.self) { try MicroService(name: "events-c", environment: environment) }
        let given = MemoryEventStream()
        let service = try? MicroService(name: "events-d", environment: MicroEnvironment(["MICRO_EVENTS": "kafka"]), events: given)
        #expect(service?.events as? MemoryEventStream === given, "a stream given in code wins over MICRO_EVENTS")
    }
}
