import InMemoryTracing
import Instrumentation
import Metrics
import MetricsTestKit
import MicroCore
import NIOCore
import Synchronization
import Testing
import Tracing

private struct ObsHello: Codable, Sendable { var name: String }
private struct ObsReply: Codable, Sendable { var message: String }
private struct ObsEvent: Codable, Sendable { var text: String }

/// A value behind a mutex, for what handlers see.
private final class ObsBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func set(_ value: Value) { mutex.withLock { $0 = value } }
    var value: Value { mutex.withLock { $0 } }
}

/// In-memory registry, transport and broker for the observability tests.
private struct ObsCluster {
    let registry = MemoryRegistry()
    let transport = MemoryTransport()
    let broker = MemoryBroker()

    /// Serves `router` as `service` on a fresh memory address.
    func serve(_ router: Router, service: String) async throws {
        let listener = try await transport.listen(on: "", handler: router)
        try await registry.register(ServiceRecord(name: service, endpoints: router.endpoints,
                                                  nodes: [Node(id: "\(service)-1", address: listener.address)]))
    }

    func client(callWrappers: [any CallWrapper] = [], publishWrappers: [any PublishWrapper] = []) -> Client {
        Client(registry: registry, transports: [transport], broker: broker, defaults: CallOptions(retries: 0),
               callWrappers: callWrappers, publishWrappers: publishWrappers)
    }
}

private func greeter(_ wrappers: [any HandlerWrapper], seen: ObsBox<Metadata>? = nil) -> Router {
    let router = Router(serviceName: "greeter")
    for w in wrappers { router.use(w) }
    router.handle("Greeter.Hello") { (request: ObsHello, context: HandlerContext) -> ObsReply in
        seen?.set(context.metadata)
        return ObsReply(message: "Hello \(request.name)")
    }
    router.handle("Greeter.Missing") { (_: ObsHello, context: HandlerContext) -> ObsReply in
        throw MicroError.notFound(context.service, "no such greeting")
    }
    router.handle("Greeter.Broken") { (_: ObsHello, context: HandlerContext) -> ObsReply in
        throw MicroError.internalServerError(context.service, "broken")
    }
    return router
}

private let target = [("service", "greeter"), ("endpoint", "Greeter.Hello")]

@Suite struct ObservabilityMetricsTests {
    @Test func successfulCallsCountAndTimeOnBothSides() async throws {
        let metrics = TestMetrics()
        let cluster = ObsCluster()
        try await cluster.serve(greeter([MetricsHandlerWrapper(factory: metrics)]), service: "greeter")
        let client = cluster.client(callWrappers: [MetricsCallWrapper(factory: metrics)])

        for name in ["a", "b"] {
            let reply: ObsReply = try await client.call("greeter", "Greeter.Hello", ObsHello(name: name))
            #expect(reply.message == "Hello \(name)")
        }

        #expect(try metrics.expectCounter("micro_client_requests_total", target + [("status", "success")]).totalValue == 2)
        #expect(try metrics.expectCounter("micro_server_requests_total", target + [("status", "success")]).totalValue == 2)
        let clientTimer = try metrics.expectTimer("micro_client_request_duration_seconds", target)
        let serverTimer = try metrics.expectTimer("micro_server_request_duration_seconds", target)
        #expect(clientTimer.values.count == 2)
        #expect(serverTimer.values.count == 2)
        #expect(clientTimer.values.allSatisfy { $0 > 0 })
        // The client's time includes the server's.
        #expect(clientTimer.values.reduce(0, +) >= serverTimer.values.reduce(0, +))
        #expect(metrics.counters.count == 2)
    }

    @Test func failedCallsCountTheirCode() async throws {
        let metrics = TestMetrics()
        let cluster = ObsCluster()
        try await cluster.serve(greeter([MetricsHandlerWrapper(factory: metrics)]), service: "greeter")
        let client = cluster.client(callWrappers: [MetricsCallWrapper(factory: metrics)])

        await #expect(throws: MicroError.self) {
            let _: ObsReply = try await client.call("greeter", "Greeter.Missing", ObsHello(name: "x"))
        }
        await #expect(throws: MicroError.self) {
            let _: ObsReply = try await client.call("greeter", "Greeter.Broken", ObsHello(name: "x"))
        }

        let missing = [("service", "greeter"), ("endpoint", "Greeter.Missing"), ("status", "404")]
        let broken = [("service", "greeter"), ("endpoint", "Greeter.Broken"), ("status", "500")]
        #expect(try metrics.expectCounter("micro_client_requests_total", missing).totalValue == 1)
        #expect(try metrics.expectCounter("micro_server_requests_total", missing).totalValue == 1)
        #expect(try metrics.expectCounter("micro_client_requests_total", broken).totalValue == 1)
        #expect(try metrics.expectCounter("micro_server_requests_total", broken).totalValue == 1)
        #expect(metrics.counterTotal(label: "micro_client_requests_total", dimensions: [("status", "success")]) == 0)
        #expect(try metrics.expectTimer("micro_server_request_duration_seconds",
                                        [("service", "greeter"), ("endpoint", "Greeter.Missing")]).values.count == 1)
    }

    @Test func wrappersPreparedForAnEndpointCountWhatTheCallNamesAfterAll() async throws {
        // The router prepares the metrics and stats wrappers for the endpoint whose chain it composes;
        // an outer wrapper renaming a call makes them count it as the unprepared wrappers would.
        struct Rename: HandlerWrapper {
            func handle(_ request: RPCRequest, context: HandlerContext,
                        next: @Sendable (RPCRequest, HandlerContext) async throws -> RPCResponse) async throws -> RPCResponse {
                guard request.metadata["rename"] != nil else { return try await next(request, context) }
                var request = request, context = context
                request.endpoint = "Greeter.Renamed"
                context.service = "other"
                return try await next(request, context)
            }
        }
        let metrics = TestMetrics()
        let stats = RequestStats()
        let router = greeter([Rename(), MetricsHandlerWrapper(factory: metrics), stats])
        let body = ByteBuffer(string: #"{"name":"a"}"#)
        _ = try await router.handle(RPCRequest(service: "greeter", endpoint: "Greeter.Hello", body: body)).get()
        _ = try await router.handle(RPCRequest(service: "greeter", endpoint: "Greeter.Hello", metadata: ["rename": "1"], body: body)).get()
        _ = await router.handle(RPCRequest(service: "greeter", endpoint: "Greeter.Broken", body: body))
        #expect(try metrics.expectCounter("micro_server_requests_total", target + [("status", "success")]).totalValue == 1)
        #expect(try metrics.expectCounter("micro_server_requests_total", [("service", "other"), ("endpoint", "Greeter.Renamed"),
                                                                          ("status", "success")]).totalValue == 1)
        #expect(try metrics.expectCounter("micro_server_requests_total", [("service", "greeter"), ("endpoint", "Greeter.Broken"),
                                                                          ("status", "500")]).totalValue == 1)
        #expect(try metrics.expectTimer("micro_server_request_duration_seconds", target).values.count == 1)
        #expect(stats.endpoints.map(\.endpoint) == ["Greeter.Broken", "Greeter.Hello", "Greeter.Renamed"])
        #expect(stats.endpoints.map(\.requests) == [1, 1, 1] && stats.endpoints.map(\.errors) == [1, 0, 0])
    }

    @Test func unreachableServiceCountsOnTheClientOnly() async throws {
        let metrics = TestMetrics()
        let client = ObsCluster().client(callWrappers: [MetricsCallWrapper(factory: metrics)])
        await #expect(throws: MicroError.self) {
            let _: ObsReply = try await client.call("nobody", "Nobody.Hello", ObsHello(name: "x"))
        }
        let counters = metrics.counters(label: "micro_client_requests_total", dimensions: [("service", "nobody")])
        #expect(counters.count == 1)
        #expect(counters.first?.dimensions.first { $0.0 == "status" }?.1 != "success")
        #expect(metrics.counters(label: "micro_server_requests_total").isEmpty)
    }

    @Test func withoutAFactoryTheTaskLocalOneIsUsed() async throws {
        let metrics = TestMetrics()
        let cluster = ObsCluster()
        try await cluster.serve(greeter([MetricsHandlerWrapper()]), service: "greeter")
        let client = cluster.client(callWrappers: [MetricsCallWrapper()])
        try await withMetricsFactory(metrics) {
            let _: ObsReply = try await client.call("greeter", "Greeter.Hello", ObsHello(name: "a"))
        }
        #expect(try metrics.expectCounter("micro_client_requests_total", target + [("status", "success")]).totalValue == 1)
        #expect(try metrics.expectCounter("micro_server_requests_total", target + [("status", "success")]).totalValue == 1)
    }

    @Test func messagesCountPerTopic() async throws {
        let metrics = TestMetrics()
        let cluster = ObsCluster()
        let received = MetricsSubscriberWrapper(factory: metrics)
        _ = try await cluster.broker.subscribe("greetings", queue: nil) { event in
            try await received.handle(event) { event in
                if String(decoding: event.message.body, as: UTF8.self).contains("bad") { throw MicroError.badRequest("test", "bad") }
            }
        }
        let client = cluster.client(publishWrappers: [MetricsPublishWrapper(factory: metrics)])

        try await client.publish("greetings", ObsEvent(text: "hi"))
        try await client.publish("greetings", ObsEvent(text: "ho"))
        await #expect(throws: MicroError.self) { try await client.publish("greetings", ObsEvent(text: "bad")) }
        try await client.publish("other", ObsEvent(text: "nobody listens"))

        #expect(try metrics.expectCounter("micro_broker_messages_published_total", [("topic", "greetings"), ("status", "success")]).totalValue == 2)
        #expect(try metrics.expectCounter("micro_broker_messages_published_total", [("topic", "greetings"), ("status", "400")]).totalValue == 1)
        #expect(try metrics.expectCounter("micro_broker_messages_published_total", [("topic", "other"), ("status", "success")]).totalValue == 1)
        #expect(try metrics.expectCounter("micro_broker_messages_received_total", [("topic", "greetings"), ("status", "success")]).totalValue == 2)
        #expect(try metrics.expectCounter("micro_broker_messages_received_total", [("topic", "greetings"), ("status", "400")]).totalValue == 1)
        #expect(metrics.counters(label: "micro_broker_messages_received_total", dimensions: [("topic", "other")]).isEmpty)
    }
}

@Suite struct ObservabilityTracingTests {
    @Test func aCallMakesAClientSpanAndAServerSpanUnderIt() async throws {
        let tracer = InMemoryTracer()
        let cluster = ObsCluster()
        let seen = ObsBox(Metadata())
        try await cluster.serve(greeter([TracingHandlerWrapper(tracer: tracer)], seen: seen), service: "greeter")
        let client = cluster.client(callWrappers: [TracingCallWrapper(tracer: tracer)])

        let _: ObsReply = try await client.call("greeter", "Greeter.Hello", ObsHello(name: "a"))

        let spans = tracer.finishedSpans
        #expect(spans.count == 2)
        let clientSpan = try #require(spans.first { $0.kind == .client })
        let serverSpan = try #require(spans.first { $0.kind == .server })
        #expect(clientSpan.operationName == "Greeter.Hello")
        #expect(serverSpan.operationName == "Greeter.Hello")
        #expect(clientSpan.parentSpanID == nil)
        #expect(serverSpan.traceID == clientSpan.traceID)
        #expect(serverSpan.parentSpanID == clientSpan.spanID)
        for span in [clientSpan, serverSpan] {
            #expect(span.attributes.get("rpc.system") == .string("micro"))
            #expect(span.attributes.get("rpc.service") == .string("greeter"))
            #expect(span.attributes.get("rpc.method") == .string("Greeter.Hello"))
            #expect(span.status == nil)
            #expect(span.errors.isEmpty)
        }

        // The handler saw the propagation keys the tracer injected, naming the client span.
        let metadata = seen.value
        #expect(metadata[InMemoryTracer.traceIDKey] == clientSpan.traceID)
        #expect(metadata[InMemoryTracer.spanIDKey] == clientSpan.spanID)
        #expect(tracer.performedContextInjections.count == 1)
    }

    @Test func onwardCallsContinueTheTrace() async throws {
        let tracer = InMemoryTracer()
        let cluster = ObsCluster()
        let client = cluster.client(callWrappers: [TracingCallWrapper(tracer: tracer)])
        try await cluster.serve(greeter([TracingHandlerWrapper(tracer: tracer)]), service: "greeter")
        let front = Router(serviceName: "front")
        front.use(TracingHandlerWrapper(tracer: tracer))
        front.handle("Front.Greet") { (request: ObsHello, _: HandlerContext) -> ObsReply in
            try await client.call("greeter", "Greeter.Hello", request)
        }
        try await cluster.serve(front, service: "front")

        let reply: ObsReply = try await client.call("front", "Front.Greet", ObsHello(name: "b"))
        #expect(reply.message == "Hello b")

        let spans = tracer.finishedSpans
        #expect(spans.count == 4)
        let outerClient = try #require(spans.first { $0.kind == .client && $0.operationName == "Front.Greet" })
        let outerServer = try #require(spans.first { $0.kind == .server && $0.operationName == "Front.Greet" })
        let innerClient = try #require(spans.first { $0.kind == .client && $0.operationName == "Greeter.Hello" })
        let innerServer = try #require(spans.first { $0.kind == .server && $0.operationName == "Greeter.Hello" })
        #expect(Set(spans.map(\.traceID)) == [outerClient.traceID])
        #expect(outerClient.parentSpanID == nil)
        #expect(outerServer.parentSpanID == outerClient.spanID)
        #expect(innerClient.parentSpanID == outerServer.spanID)
        #expect(innerServer.parentSpanID == innerClient.spanID)
        #expect(outerServer.attributes.get("rpc.service") == .string("front"))
    }

    @Test func failuresMarkTheSpans() async throws {
        let tracer = InMemoryTracer()
        let cluster = ObsCluster()
        try await cluster.serve(greeter([TracingHandlerWrapper(tracer: tracer)]), service: "greeter")
        let client = cluster.client(callWrappers: [TracingCallWrapper(tracer: tracer)])

        await #expect(throws: MicroError.self) {
            let _: ObsReply = try await client.call("greeter", "Greeter.Broken", ObsHello(name: "x"))
        }
        var spans = tracer.popFinishedSpans()
        for kind in [SpanKind.client, .server] {
            let span = try #require(spans.first { $0.kind == kind })
            #expect(span.status?.code == .error)
            #expect(span.errors.count == 1)
            #expect(span.attributes.get("rpc.micro.status_code") == .int64(500))
        }

        // A 404 is the caller's fault: an error for the client, not for the server.
        await #expect(throws: MicroError.self) {
            let _: ObsReply = try await client.call("greeter", "Greeter.Missing", ObsHello(name: "x"))
        }
        spans = tracer.popFinishedSpans()
        let clientSpan = try #require(spans.first { $0.kind == .client })
        let serverSpan = try #require(spans.first { $0.kind == .server })
        #expect(clientSpan.status?.code == .error)
        #expect(serverSpan.status == nil)
        #expect(serverSpan.errors.isEmpty)
        #expect(serverSpan.attributes.get("rpc.micro.status_code") == .int64(404))
    }

    @Test func withoutATracerTheInstrumentationSystemOneIsUsed() async throws {
        let tracer = InMemoryTracer()
        let cluster = ObsCluster()
        let seen = ObsBox(Metadata())
        try await cluster.serve(greeter([TracingHandlerWrapper()], seen: seen), service: "greeter")
        let client = cluster.client(callWrappers: [TracingCallWrapper()])

        try await withTracer(tracer) {
            let _: ObsReply = try await client.call("greeter", "Greeter.Hello", ObsHello(name: "a"))
        }

        let clientSpan = try #require(tracer.finishedSpans.first { $0.kind == .client })
        let serverSpan = try #require(tracer.finishedSpans.first { $0.kind == .server })
        #expect(serverSpan.parentSpanID == clientSpan.spanID)
        #expect(seen.value[InMemoryTracer.spanIDKey] == clientSpan.spanID)
    }

    @Test func publishCarriesTheContextToSubscribers() async throws {
        let tracer = InMemoryTracer()
        let cluster = ObsCluster()
        let headers = ObsBox<[String: String]>([:])
        let innerContext = ObsBox<InMemorySpanContext?>(nil)
        let wrapper = TracingSubscriberWrapper(tracer: tracer)
        _ = try await cluster.broker.subscribe("greetings", queue: "q") { event in
            try await wrapper.handle(event) { event in
                headers.set(event.message.header)
                innerContext.set(ServiceContext.current?.inMemorySpanContext)
            }
        }
        let client = cluster.client(publishWrappers: [TracingPublishWrapper(tracer: tracer)])

        try await client.publish("greetings", ObsEvent(text: "hi"))

        let spans = tracer.finishedSpans
        #expect(spans.count == 2)
        let producer = try #require(spans.first { $0.kind == .producer })
        let consumer = try #require(spans.first { $0.kind == .consumer })
        #expect(producer.operationName == "publish greetings")
        #expect(consumer.operationName == "process greetings")
        #expect(consumer.traceID == producer.traceID)
        #expect(consumer.parentSpanID == producer.spanID)
        #expect(consumer.attributes.get("messaging.destination.name") == .string("greetings"))
        #expect(headers.value[InMemoryTracer.traceIDKey] == producer.traceID)
        #expect(headers.value[InMemoryTracer.spanIDKey] == producer.spanID)
        #expect(headers.value["Micro-Topic"] == "greetings")
        // The subscriber runs inside the consumer span.
        #expect(innerContext.value?.spanID == consumer.spanID)
    }

    @Test func aSubscriberCallingOnwardContinuesTheTrace() async throws {
        let tracer = InMemoryTracer()
        let cluster = ObsCluster()
        try await cluster.serve(greeter([TracingHandlerWrapper(tracer: tracer)]), service: "greeter")
        let client = cluster.client(callWrappers: [TracingCallWrapper(tracer: tracer)],
                                    publishWrappers: [TracingPublishWrapper(tracer: tracer)])
        let wrapper = TracingSubscriberWrapper(tracer: tracer)
        _ = try await cluster.broker.subscribe("greetings", queue: nil) { event in
            try await wrapper.handle(event) { _ in
                let _: ObsReply = try await client.call("greeter", "Greeter.Hello", ObsHello(name: "sub"))
            }
        }

        try await client.publish("greetings", ObsEvent(text: "hi"))

        let spans = tracer.finishedSpans
        let consumer = try #require(spans.first { $0.kind == .consumer })
        let call = try #require(spans.first { $0.kind == .client })
        let server = try #require(spans.first { $0.kind == .server })
        #expect(Set(spans.map(\.traceID)).count == 1)
        #expect(call.parentSpanID == consumer.spanID)
        #expect(server.parentSpanID == call.spanID)
    }

    @Test func aFailingSubscriberMarksTheConsumerSpan() async throws {
        let tracer = InMemoryTracer()
        let event = BrokerEvent(topic: "t", message: BrokerMessage(header: [:], body: []))
        await #expect(throws: MicroError.self) {
            try await TracingSubscriberWrapper(tracer: tracer).handle(event) { _ in throw MicroError.internalServerError("s", "boom") }
        }
        let span = try #require(tracer.finishedSpans.first)
        #expect(span.kind == .consumer)
        #expect(span.parentSpanID == nil)
        #expect(span.status?.code == .error)
        #expect(span.errors.count == 1)
    }
}

@Suite struct ObservabilityPropagationTests {
    @Test func metadataCarriersAreCaseInsensitive() {
        var metadata = Metadata()
        MetadataInjector().inject("00-abc-def-01", forKey: "traceparent", into: &metadata)
        #expect(MetadataExtractor().extract(key: "Traceparent", from: metadata) == "00-abc-def-01")
        #expect(MetadataExtractor().extract(key: "tracestate", from: metadata) == nil)
    }

    @Test func headerExtractorMatchesAnySpelling() {
        let headers = ["Traceparent": "00-abc-def-01", "traceparent-other": "x"]
        #expect(HeaderExtractor().extract(key: "traceparent", from: headers) == "00-abc-def-01")
        #expect(HeaderExtractor().extract(key: "TRACEPARENT", from: headers) == "00-abc-def-01")
        #expect(HeaderExtractor().extract(key: "tracestate", from: headers) == nil)
    }

    @Test func headerInjectorReplacesOtherSpellings() {
        var headers = ["Traceparent": "old", "Content-Type": "application/json"]
        HeaderInjector().inject("new", forKey: "traceparent", into: &headers)
        #expect(headers == ["traceparent": "new", "Content-Type": "application/json"])
        HeaderInjector().inject("newer", forKey: "traceparent", into: &headers)
        #expect(headers == ["traceparent": "newer", "Content-Type": "application/json"])
    }

    @Test func aStaleInboundContextIsReplacedOnTheWayOut() async throws {
        // Metadata forwarded from an earlier hop already carries trace keys; the wrapper must overwrite them.
        let tracer = InMemoryTracer()
        let cluster = ObsCluster()
        let seen = ObsBox(Metadata())
        try await cluster.serve(greeter([], seen: seen), service: "greeter")
        let client = cluster.client(callWrappers: [TracingCallWrapper(tracer: tracer)])
        let stale: Metadata = [InMemoryTracer.traceIDKey: "trace-stale", InMemoryTracer.spanIDKey: "span-stale"]
        try await CallContext.with(metadata: stale) {
            let _: ObsReply = try await client.call("greeter", "Greeter.Hello", ObsHello(name: "a"))
        }
        let span = try #require(tracer.finishedSpans.first)
        #expect(seen.value[InMemoryTracer.spanIDKey] == span.spanID)
        #expect(seen.value[InMemoryTracer.traceIDKey] == span.traceID)
    }
}
