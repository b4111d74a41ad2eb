import Foundation
import Micro
import NIOPosix
import Testing

/// Where subscribers run: on the broker's event loop by default, off it when declared `blocking`
/// (so one that blocks its thread cannot stall the deliveries and calls on that loop).
@Suite struct BlockingSubscriberTests {
    @Test func blockingSubscriberRunsOffTheEventLoop() async throws {
        let registry = MemoryRegistry()
        let broker = HTTPBroker(registry: registry)
        let service = try MicroService(name: "subs", registry: registry, broker: broker,
                                       transport: (HTTPClientTransport(), HTTPServerTransport()))
        let (seen, record) = AsyncStream<(String, Bool)>.makeStream()
        service.subscribe("plain.events") { (_: [String: String], _) in
            record.yield(("plain", MultiThreadedEventLoopGroup.currentEventLoop != nil))
        }
        service.subscribe("blocking.events", blocking: true) { (_: [String: String], _) in
            record.yield(("blocking", MultiThreadedEventLoopGroup.currentEventLoop != nil))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            defer { service.stop() }
            for _ in 0..<300 where try await registry.getService("subs").first?.nodes.isEmpty ?? true {
                try await Task.sleep(for: .milliseconds(10))
            }
            let client = Client(registry: registry, transports: [HTTPClientTransport()], broker: HTTPBroker(registry: registry))
            try await client.publish("plain.events", ["n": "1"])
            try await client.publish("blocking.events", ["n": "2"])
            let onLoop = try await bounded("both deliveries", within: .seconds(10)) {
                var result: [String: Bool] = [:]
                for await (name, onLoop) in seen {
                    result[name] = onLoop
                    if result.count == 2 { break }
                }
                return result
            }
            #expect(onLoop["plain"] == true, "the control: a plain subscriber runs on the broker's event loop")
            #expect(onLoop["blocking"] == false, "a blocking subscriber must run off the event loop")
            await client.shutdown()
            await client.broker.shutdown()
        }
    }
}
