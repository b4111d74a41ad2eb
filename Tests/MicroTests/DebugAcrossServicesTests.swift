import Foundation
import Logging
import Micro
import MicroHTTP
import Testing
import Tracing

private struct DHello: Codable, Sendable { var name: String }
private struct DReply: Codable, Sendable { var message: String }

/// Three services over HTTP in one process, client → a → b → c: each keeps its own spans, and
/// together they form one trace with the right parents; logs, stats and log streams answer over the wire.
@Suite struct DebugAcrossServicesTests {
    @Test func aCallThroughThreeServicesIsOneTraceWithParentsAcrossThem() async throws {
        let registry = MemoryRegistry()
        let broker = MemoryBroker()
        func make(_ name: String) throws -> MicroService {
            try MicroService(name: name, registry: registry, broker: broker, store: MemoryStore(),
                             transport: (HTTPClientTransport(), HTTPServerTransport()))
        }
        let a = try make("a"), b = try make("b"), c = try make("c")
        a.handle("A.Hello") { (req: DHello, _) -> DReply in try await a.client.call("b", "B.Hello", req) }
        b.handle("B.Hello") { (req: DHello, _) -> DReply in try await b.client.call("c", "C.Hello", req) }
        c.handle("C.Hello") { (req: DHello, context: HandlerContext) -> DReply in
            context.logger.notice("c saw \(req.name)")
            return DReply(message: "hello \(req.name)")
        }
        let clientSpans = SpanBuffer()
        let caller = Client(registry: registry, transports: [HTTPClientTransport()], broker: broker,
                            callWrappers: [TracingCallWrapper(tracer: DebugTracer(service: "caller", buffer: clientSpans))])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for s in [a, b, c] { group.addTask { try await s.run() } }
            defer { for s in [a, b, c] { s.stop() } }
            #expect(try await poll(timeout: .seconds(10)) {
                try await registry.listServices().filter { !$0.nodes.isEmpty }.count == 3
            })
            let reply: DReply = try await caller.call("a", "A.Hello", DHello(name: "x"))
            #expect(reply.message == "hello x")

            let root = try #require(clientSpans.spans(count: 10).first)
            var spans = [root]
            for service in ["a", "b", "c"] {
                let answer: DebugTraceResponse = try await caller.call(service, "Debug.Trace", DebugTraceRequest(traceID: root.traceID))
                spans += answer.spans
            }
            #expect(Set(spans.map(\.traceID)) == [root.traceID])
            func span(_ service: String, _ kind: String, _ name: String) throws -> SpanRecord {
                try #require(spans.first { $0.service == service && $0.kind == kind && $0.name == name }, "\(service) \(kind) \(name)")
            }
            let aServer = try span("a", "server", "A.Hello"), aClient = try span("a", "client", "B.Hello")
            let bServer = try span("b", "server", "B.Hello"), bClient = try span("b", "client", "C.Hello")
            let cServer = try span("c", "server", "C.Hello")
            #expect(root.parentID == nil)
            #expect(aServer.parentID == root.spanID)
            #expect(aClient.parentID == aServer.spanID)
            #expect(bServer.parentID == aClient.spanID)
            #expect(bClient.parentID == bServer.spanID)
            #expect(cServer.parentID == bClient.spanID)
            #expect(cServer.attributes["rpc.method"] == "C.Hello")
            #expect(aServer.duration >= cServer.duration)
            let tree = SpanTree(spans).lines()
            #expect(tree.count == 7 && tree[0] == "trace \(root.traceID)", "\(tree)")
            #expect(tree.last?.contains("C.Hello [c server]") == true, "\(tree)")

            // The log line c's handler wrote, with the service's metadata.
            let logs: LogBatch = try await caller.call("c", "Debug.Log", DebugLogRequest(level: "notice"))
            #expect(logs.records.contains { $0.message == "c saw x" && $0.metadata["service"] == "c" }, "\(logs.records)")

            // Stats count c's calls and its open connections.
            let stats: DebugStats = try await caller.call("c", "Debug.Stats", DebugStatsRequest())
            #expect(stats.endpoints.first { $0.endpoint == "C.Hello" }?.requests == 1)
            #expect((stats.connections ?? 0) >= 1 && stats.threads > 0)

            // A log stream over the wire: records logged after it opened arrive.
            var received: [String] = []
            let stream = caller.stream("c", "Debug.LogStream", DebugLogRequest(level: "info"), of: LogBatch.self)
            let logger = c.debug!.tee(Logger(label: "test"))
            let writer = Task {
                while c.debug!.logs.usage.readers == 0 { try await Task.sleep(for: .milliseconds(5)) }
                for i in 0..<3 { logger.info("streamed \(i)") }
            }
            for try await batch in stream {
                received += batch.records.map(\.message).filter { $0.hasPrefix("streamed") }
                if received.count >= 3 { break }
            }
            try await writer.value
            #expect(received == ["streamed 0", "streamed 1", "streamed 2"])
            await caller.shutdown()
        }
    }
}
