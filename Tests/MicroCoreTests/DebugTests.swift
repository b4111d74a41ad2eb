import Foundation
import Logging
@testable import MicroCore
import NIOCore
import Synchronization
import Testing
import Tracing

private func record(_ i: Int, level: String = "info", message: String? = nil) -> LogRecord {
    LogRecord(time: Int64(i), level: level, label: "test", message: message ?? "record \(i)")
}

@Suite struct LogBufferTests {
    @Test func aFloodNeverExceedsTheCountOrByteBound() {
        let limits = DebugLimits(logRecords: 100, logBytes: 8 * 1024, maxFieldBytes: 512)
        let buffer = LogBuffer(limits: limits)
        for i in 0..<5_000 {
            buffer.append(record(i, message: String(repeating: "x", count: i % 700)))
            let usage = buffer.usage
            #expect(usage.records <= 100 && usage.bytes <= 8 * 1024)
            if usage.records > 100 || usage.bytes > 8 * 1024 { break }
        }
        let kept = buffer.records(count: 1_000)
        #expect(!kept.isEmpty && kept.last?.time == 4_999, "the newest is kept")
        #expect(kept.allSatisfy { $0.message.utf8.count <= 512 }, "messages are cut to maxFieldBytes")
        #expect(buffer.usage.bytes == kept.reduce(0) { $0 + $1.byteCount })
        #expect(buffer.usage.evicted == 5_000 - kept.count)
    }

    @Test func manyMetadataEntriesAndLongValuesAreCut() {
        let buffer = LogBuffer(limits: DebugLimits(maxFieldBytes: 64, maxEntries: 4))
        var metadata: [String: String] = [:]
        for i in 0..<50 { metadata["k\(i)"] = String(repeating: "é", count: 100) }
        buffer.append(LogRecord(time: 1, level: "info", label: "l", message: "m", metadata: metadata))
        let kept = try! #require(buffer.records(count: 1).first)
        #expect(kept.metadata.count == 4)
        #expect(kept.metadata.values.allSatisfy { $0.utf8.count <= 64 && $0.hasSuffix("…") })
    }

    @Test func hugeCountsAreCappedAndFiltersApply() {
        let buffer = LogBuffer(limits: DebugLimits(logRecords: 10))
        for i in 0..<30 { buffer.append(record(i, level: i.isMultiple(of: 2) ? "error" : "debug")) }
        #expect(buffer.records(count: Int.max).count == 10)
        #expect(buffer.records(count: -5).isEmpty)
        #expect(buffer.records(count: 100, minimum: .error).map(\.time) == [20, 22, 24, 26, 28])
        #expect(buffer.records(count: 100, since: 27).map(\.time) == [27, 28, 29])
        #expect(buffer.records(count: 2).map(\.time) == [28, 29])
    }

    @Test func aSlowReaderLosesRecordsWithACountAndNeverBlocksTheWriter() async throws {
        let buffer = LogBuffer(limits: DebugLimits(streamBuffer: 8))
        try await buffer.withReader(minimum: .info) { reader in
            // Nobody reads while 1,000 records arrive: appends return at once.
            for i in 0..<1_000 { buffer.append(record(i)) }
            buffer.append(record(1_000, level: "debug"))
            let first = try #require(await reader.next())
            #expect(first.records.map(\.time) == Array(0..<8).map(Int64.init))
            #expect(first.dropped == 992)
            buffer.append(record(2_000))
            let second = try #require(await reader.next())
            #expect(second.records.map(\.time) == [2_000] && second.dropped == 0)
        }
        #expect(buffer.usage.readers == 0)
    }

    @Test func aWaitingReaderWakesAndCancellationEndsIt() async throws {
        let buffer = LogBuffer()
        let waiting = Task { try await buffer.withReader(minimum: nil) { await $0.next() } }
        while buffer.usage.readers == 0 { try await Task.sleep(for: .milliseconds(1)) }
        buffer.append(record(7))
        #expect(try await waiting.value?.records.map(\.time) == [7])
        let task = Task { try await buffer.withReader(minimum: nil) { await $0.next() } }
        while buffer.usage.readers == 0 { try await Task.sleep(for: .milliseconds(1)) }
        task.cancel()
        #expect(try await task.value == nil)
        #expect(buffer.usage.readers == 0)
    }

    @Test func readersBeyondTheLimitAreRefused() async throws {
        let buffer = LogBuffer(limits: DebugLimits(maxStreams: 1))
        try await buffer.withReader(minimum: nil) { _ in
            await #expect(throws: DebugError.self) { try await buffer.withReader(minimum: nil) { _ in } }
        }
        let e = DebugError(.tooManyStreams, "x").microError
        #expect(e.code == 429)
    }

    @Test func theLogHandlerTeesIntoTheBufferAndKeepsTheOldHandler() {
        let buffer = LogBuffer()
        let seen = Locked<[String]>([])
        struct Recording: LogHandler {
            let seen: Locked<[String]>
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .info
            subscript(metadataKey key: String) -> Logger.Metadata.Value? { get { metadata[key] } set { metadata[key] = newValue } }
            func log(event: LogEvent) { seen.withLock { $0.append(event.message.description) } }
        }
        var logger = DebugLogHandler.tee(Logger(label: "svc") { _ in Recording(seen: seen) }, into: buffer)
        logger[metadataKey: "service"] = "greeter"
        logger.debug("hidden")
        logger.warning("careful", metadata: ["n": "1"])
        #expect(seen.withLock { $0 } == ["careful"])
        let kept = buffer.records(count: 10)
        #expect(kept.count == 1)
        #expect(kept.first?.level == "warning" && kept.first?.label == "svc")
        #expect(kept.first?.metadata == ["service": "greeter", "n": "1"])
    }
}

@Suite struct DebugTraceTests {
    @Test func traceParentParsingIsStrict() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        #expect(TraceParent(header: good)?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(TraceParent(header: good)?.header == good)
        for bad in ["", "00", good.uppercased(), "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff" + good.dropFirst(2), good + "-x",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", String(repeating: "-", count: 55),
                    "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", good.replacingOccurrences(of: "a", with: "é")] {
            #expect(TraceParent(header: bad) == nil, "\(bad)")
        }
        #expect(TraceParent(header: "01" + good.dropFirst(2) + "-future")?.spanID == "00f067aa0ba902b7")
    }

    @Test func aContextKeepsTheIdsAndFlagsItWasGiven() {
        let tracer = DebugTracer(service: "s", buffer: SpanBuffer())
        for header in ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
                       "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-ff"] {
            var context = ServiceContext.topLevel
            tracer.extract(Metadata(["traceparent": header]), into: &context, using: MetadataExtractor())
            var wire = Metadata()
            tracer.inject(context, into: &wire, using: MetadataInjector())
            #expect(wire["traceparent"] == header)
            #expect(context.traceParent == TraceParent(header: header))
            context.traceParent = nil
            #expect(context.traceParent == nil && context.isEmpty)
        }
        var context = ServiceContext.topLevel
        context.traceParent = TraceParent(traceHigh: 1, traceLow: 2, span: 3, flags: 0)
        context.traceParent = TraceParent(traceHigh: 1, traceLow: 2, span: 4)
        #expect(context.traceParent == TraceParent(traceHigh: 1, traceLow: 2, span: 4, flags: 1) && context.count == 1)
    }

    @Test func spansOfOneCallShareATraceAndNameTheirParents() throws {
        let buffer = SpanBuffer()
        let client = DebugTracer(service: "client", buffer: buffer)
        let server = DebugTracer(service: "server", buffer: buffer)
        let root = client.startSpan("Greeter.Hello", context: .topLevel, ofKind: .client)
        var wire = Metadata()
        client.inject(root.context, into: &wire, using: MetadataInjector())
        var remote = ServiceContext.topLevel
        server.extract(wire, into: &remote, using: MetadataExtractor())
        let handled = server.startSpan("Greeter.Hello", context: remote, ofKind: .server)
        handled.attributes["rpc.method"] = "Greeter.Hello"
        handled.setStatus(SpanStatus(code: .error, message: "boom"))
        handled.end()
        handled.end()
        root.end()
        let spans = buffer.spans(count: 10)
        #expect(spans.count == 2, "a span ends once")
        let (s, c) = (spans[0], spans[1])
        #expect(s.traceID == c.traceID && s.traceID.count == 32)
        #expect(s.parentID == c.spanID && c.parentID == nil)
        #expect(s.kind == "server" && s.service == "server" && s.status == "error" && s.statusMessage == "boom")
        #expect(s.attributes["rpc.method"] == "Greeter.Hello")
        #expect(c.duration >= s.duration)
        #expect(buffer.spans(count: 10, traceID: c.traceID).count == 2)
        #expect(buffer.spans(count: 10, traceID: String(repeating: "a", count: 32)).isEmpty)
    }

    @Test func spansAreCutToTheLimitsWhetherKeptAsTheyEndedOrNot() {
        let limits = DebugLimits(maxFieldBytes: 64, maxEntries: 4, spans: 10)
        let buffer = SpanBuffer(limits: limits)
        let tracer = DebugTracer(service: "s", buffer: buffer)
        let small = tracer.startSpan("small", context: .topLevel, ofKind: .server)
        small.attributes = ["a": .int64(1), "b": .bool(true), "c": .string("x")]
        small.end()
        let big = tracer.startSpan(String(repeating: "n", count: 100), context: .topLevel, ofKind: .client)
        var attributes = SpanAttributes()
        for i in 0..<40 { attributes["k\(i)"] = String(repeating: "v", count: 1000) }
        big.attributes = attributes
        big.setStatus(SpanStatus(code: .error, message: String(repeating: "m", count: 500)))
        big.end()
        let long = tracer.startSpan("long", context: .topLevel, ofKind: .internal)
        long.attributes = ["v": .string(String(repeating: "é", count: 100))]
        long.end()
        buffer.append(SpanRecord(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", parentID: nil, name: "given",
                                 kind: "client", service: "t", start: 1, duration: 2))
        let spans = buffer.spans(count: 10)
        #expect(spans.map(\.name.utf8.count) == [5, 64, 4, 5])
        #expect(spans[0].attributes == ["a": "1", "b": "true", "c": "x"] && spans[0].kind == "server" && spans[0].status == "unset")
        #expect(spans[1].attributes.count == 4 && spans[1].attributes.allSatisfy { $0.value.utf8.count <= 64 })
        #expect(spans[1].statusMessage?.utf8.count ?? 0 <= 64 && spans[1].status == "error")
        #expect(spans[2].attributes["v"]?.utf8.count ?? 0 <= 64 && spans[2].attributes["v"]?.hasSuffix("…") == true)
        #expect(buffer.spans(count: 10, traceID: "4bf92f3577b34da6a3ce929d0e0e4736").map(\.name) == ["given"])
        #expect(buffer.spans(count: 10, traceID: spans[0].traceID).map(\.name) == ["small"])
        #expect(spans.allSatisfy { $0.traceID.count == 32 || $0.name == "given" } && Set(spans.map(\.traceID)).count == 4)
    }

    /// The router runs a prepared wrapper that keeps the debug tracer's server spans without a span
    /// object; what it keeps must be what a span started through the tracer keeps.
    @Test func serverSpansKeptByTheRouterAreWhatASpanObjectKeeps() async throws {
        let debug = ServiceDebug(service: "greeter")
        let wrapper = TracingHandlerWrapper(tracer: debug.tracer)
        let seen = Mutex<[TraceParent?]>([])
        let router = Router(serviceName: "greeter")
        router.use(wrapper)
        debug.register(on: router)
        router.handle("Greeter.Hello") { (_: HelloRequest, _: HandlerContext) in
            seen.withLock { $0.append(ServiceContext.current?.traceParent) }
            return HelloReply(message: "hi")
        }
        router.handle("Greeter.Broken") { (_: HelloRequest, ctx: HandlerContext) -> HelloReply in
            throw MicroError.internalServerError(ctx.service, "broken")
        }
        router.handle("Greeter.Missing") { (_: HelloRequest, ctx: HandlerContext) -> HelloReply in
            throw MicroError.notFound(ctx.service, "missing")
        }
        let caller = TraceParent(traceHigh: 0x0af7_6519_16cd_43dd, traceLow: 0x8448_eb21_1c80_319c, span: 0xb7ad_6b71_6920_3331, flags: 3)
        let withParent: Metadata = ["TraceParent": caller.header]
        for endpoint in ["Greeter.Hello", "Greeter.Broken", "Greeter.Missing"] {
            // Through the router (prepared), then through the wrapper's general path (a DebugSpan).
            _ = await router.handle(request(endpoint, #"{"name":"x"}"#, metadata: withParent))
            let general = HandlerContext(service: "greeter", endpoint: endpoint, metadata: withParent, deadline: nil, logger: Logger(label: "t"))
            _ = try? await wrapper.handle(request(endpoint, #"{"name":"x"}"#, metadata: withParent), context: general) { req, _ in
                if endpoint == "Greeter.Hello" {
                    seen.withLock { $0.append(ServiceContext.current?.traceParent) }
                    return RPCResponse(contentType: "application/json", body: ByteBuffer())
                }
                throw endpoint == "Greeter.Broken" ? MicroError.internalServerError("greeter", "broken") : MicroError.notFound("greeter", "missing")
            }
        }
        _ = await router.handle(request("Greeter.Hello", #"{"name":"root"}"#))
        _ = await router.handle(request("Debug.Stats", "{}", metadata: withParent))

        let spans = debug.spans.spans(count: 100)
        #expect(spans.count == 7, "Debug.* calls are not kept")
        for pair in stride(from: 0, to: 6, by: 2) {
            var (prepared, general) = (spans[pair], spans[pair + 1])
            #expect(prepared.traceID == caller.traceID && prepared.parentID == caller.spanID && prepared.spanID != general.spanID)
            #expect(prepared.duration >= 0 && prepared.start > 0)
            (prepared.spanID, prepared.start, prepared.duration) = (general.spanID, general.start, general.duration)
            #expect(prepared == general)
        }
        #expect(spans[0].attributes == ["rpc.system": "micro", "rpc.service": "greeter", "rpc.method": "Greeter.Hello"])
        #expect(spans[0].kind == "server" && spans[0].service == "greeter" && spans[0].status == "unset")
        #expect(spans[2].status == "error" && spans[2].attributes["rpc.micro.status_code"] == "500" && spans[2].statusMessage != nil)
        #expect(spans[4].status == "unset" && spans[4].attributes["rpc.micro.status_code"] == "404")
        #expect(spans[6].parentID == nil && spans[6].traceID.count == 32 && spans[6].traceID != caller.traceID)
        // The handler runs in the span's context: its ids, the caller's trace and flags (sampled set).
        let contexts = seen.withLock { $0 }
        #expect(contexts.count == 3)
        #expect(contexts[0]?.spanID == spans[0].spanID && contexts[0]?.traceID == caller.traceID && contexts[0]?.flags == 3)
        #expect(contexts[1]?.spanID == spans[1].spanID && contexts[1]?.flags == 3)
        #expect(contexts[2]?.spanID == spans[6].spanID && contexts[2]?.flags == 1)
    }

    @Test func theSpanRingIsBounded() {
        let buffer = SpanBuffer(limits: DebugLimits(spans: 5))
        let tracer = DebugTracer(service: "s", buffer: buffer)
        for i in 0..<50 { tracer.startSpan("op\(i)", context: .topLevel, ofKind: .internal).end() }
        #expect(buffer.count == 5)
        #expect(buffer.spans(count: .max).map(\.name) == (45..<50).map { "op\($0)" })
    }
}

@Suite struct DebugEndpointTests {
    private func router() -> (Router, ServiceDebug) {
        let router = Router(serviceName: "svc")
        let debug = ServiceDebug(service: "svc", limits: DebugLimits(logRecords: 20))
        debug.register(on: router)
        router.use(debug.requests)
        return (router, debug)
    }

    private func call(_ router: Router, _ endpoint: String, _ body: String) async -> Result<RPCResponse, MicroError> {
        await router.handle(RPCRequest(service: "svc", endpoint: endpoint, contentType: "application/json", body: ByteBuffer(string: body)))
    }

    @Test func malformedRequestsGetTypedErrors() async throws {
        let (router, _) = router()
        for (endpoint, body) in [("Debug.Log", #"{"count":-1}"#), ("Debug.Log", #"{"level":"loud"}"#), ("Debug.Log", #"{"count":"x"}"#),
                                 ("Debug.Log", "{"), ("Debug.Trace", #"{"traceID":"xyz"}"#), ("Debug.Trace", #"{"count":-3}"#),
                                 ("Debug.Stats", "[1"), ("Debug.Log", #"{"count":1e400}"#)] {
            guard case .failure(let e) = await call(router, endpoint, body) else {
                Issue.record("\(endpoint) \(body) was accepted"); continue
            }
            #expect(e.code == 400, "\(endpoint) \(body): \(e)")
        }
    }

    @Test func logTraceAndStatsAnswer() async throws {
        let (router, debug) = router()
        let logger = debug.tee(Logger(label: "svc"))
        for i in 0..<50 { logger.error("e\(i)") }
        guard case .success(let r) = await call(router, "Debug.Log", #"{"count":1000000000,"level":"warn"}"#) else { Issue.record("no answer"); return }
        let batch = try JSONDecoder().decode(LogBatch.self, from: Data(buffer: r.body))
        #expect(batch.records.count == 20 && batch.records.last?.message == "e49")
        guard case .success(let s) = await call(router, "Debug.Stats", "{}") else { Issue.record("no stats"); return }
        let stats = try JSONDecoder().decode(DebugStats.self, from: Data(buffer: s.body))
        #expect(stats.service == "svc" && stats.threads > 0 && stats.memory > 0 && stats.openFiles > 0)
        #expect(stats.endpoints.contains { $0.endpoint == "Debug.Log" && $0.requests == 1 && $0.inFlight == 0 })
        #expect(stats.endpoints.contains { $0.endpoint == "Debug.Stats" && $0.requests == 0 && $0.inFlight == 1 }, "the call asking")
        #expect(stats.logRecords == 20 && stats.logDropped == 30)
        _ = await call(router, "Debug.Log", #"{"count":-1}"#)
        let after = debug.requests.endpoints.first { $0.endpoint == "Debug.Log" }
        #expect(after?.requests == 2 && after?.errors == 1 && after?.inFlight == 0)
    }
}
