import InMemoryTracing
import Metrics
import MetricsTestKit
import Micro
import Testing
import Tracing

private struct SOHello: Codable, Sendable { var name: String }
private struct SOReply: Codable, Sendable { var message: String }
private struct SOEvent: Codable, Sendable { var text: String }

/// A Service records metrics and spans by default: a call from one service to another, which calls
/// a third and publishes an event, forms one trace; counters carry each service's name.
@Suite struct ServiceObservabilityTests {
    @Test func servicesRecordMetricsAndOneTraceAcrossCallsAndPubSub() async throws {
        let registry = MemoryRegistry()
        let transport = MemoryTransport()
        let broker = MemoryBroker()
        func make(_ name: String) throws -> MicroService {
            try MicroService(name: name, registry: registry, broker: broker, transport: (transport, transport))
        }
        let front = try make("front")
        let back = try make("back")
        let (events, delivered) = AsyncStream<SOEvent>.makeStream()
        back.handle("Back.Hello") { (req: SOHello, _) in SOReply(message: "hi \(req.name)") }
        back.subscribe("seen") { (event: SOEvent, _) in delivered.yield(event) }
        front.handle("Front.Hello") { (req: SOHello, _) in
            let reply: SOReply = try await front.client.call("back", "Back.Hello", req)
            try await front.client.publish("seen", SOEvent(text: req.name))
            return reply
        }

        let metrics = TestMetrics()
        let tracer = InMemoryTracer()
        try await withMetricsFactory(metrics) {
            try await withTracer(tracer) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await back.run() }
                    group.addTask { try await front.run() }
                    defer { front.stop(); back.stop() }
                    for _ in 0..<200 {
                        let up = try await registry.listServices().filter { !$0.nodes.isEmpty }.map(\.name)
                        if up.contains("back") && up.contains("front") { break }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    let caller = Client(registry: registry, transports: [transport], broker: broker,
                                        callWrappers: [TracingCallWrapper(), MetricsCallWrapper()])
                    let reply: SOReply = try await caller.call("front", "Front.Hello", SOHello(name: "a"))
                    #expect(reply.message == "hi a")
                    var it = events.makeAsyncIterator()
                    #expect(await it.next()?.text == "a")
                    await caller.shutdown()
                }
            }
        }

        let frontCount = try metrics.expectCounter("micro_server_requests_total",
            [("service", "front"), ("endpoint", "Front.Hello"), ("status", "success")])
        #expect(frontCount.totalValue == 1)
        let backCount = try metrics.expectCounter("micro_server_requests_total",
            [("service", "back"), ("endpoint", "Back.Hello"), ("status", "success")])
        #expect(backCount.totalValue == 1)

        let spans = tracer.finishedSpans
        let traceIDs = Set(spans.map(\.spanContext.traceID))
        #expect(traceIDs.count == 1, "every span of the request shares one trace: \(spans.map(\.operationName))")
        #expect(spans.contains { $0.kind == .server && $0.operationName == "Back.Hello" })
        #expect(spans.contains { $0.kind == .consumer })
    }

    @Test func streamsCarryTheTraceToTheHandler() async throws {
        let registry = MemoryRegistry()
        let transport = MemoryTransport()
        let service = try MicroService(name: "counter", registry: registry, broker: MemoryBroker(), transport: (transport, transport))
        service.handle("Counter.Count") { (req: SOHello, stream: ServerStream<SOReply>, _) in
            for i in 0..<3 { try await stream.send(SOReply(message: "\(req.name)\(i)")) }
        }
        let tracer = InMemoryTracer()
        try await withTracer(tracer) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                defer { service.stop() }
                for _ in 0..<200 where try await registry.getService("counter").first?.nodes.isEmpty ?? true {
                    try await Task.sleep(for: .milliseconds(10))
                }
                let caller = Client(registry: registry, transports: [transport], broker: MemoryBroker(), callWrappers: [TracingCallWrapper()])
                var got: [String] = []
                for try await reply in caller.stream("counter", "Counter.Count", SOHello(name: "n"), of: SOReply.self) { got.append(reply.message) }
                #expect(got == ["n0", "n1", "n2"])
                await caller.shutdown()
            }
        }
        let client = try #require(tracer.finishedSpans.first { $0.kind == .client })
        let server = try #require(tracer.finishedSpans.first { $0.kind == .server })
        #expect(server.spanContext.traceID == client.spanContext.traceID)
        #expect(server.parentSpanID == client.spanContext.spanID)
    }
}
