import Foundation
import Micro
import MicroHTTP
import MicroOTel
import MicroTestSupport
import Testing

private struct OHello: Codable, Sendable { var name: String }
private struct OReply: Codable, Sendable { var message: String }

/// Spans and metrics of two services reach a real OTLP/gRPC receiver (Python, on the official
/// opentelemetry-proto definitions) with their names, parents and attributes; the debug buffer keeps
/// the same ids.
@Suite struct OTelExporterTests {
    private struct Received: Decodable {
        var type: String
        var service: String
        var name: String
        var trace_id: String?
        var span_id: String?
        var parent_span_id: String?
        var attributes: [String: String]?
        var kind: Int?
    }

    @Test func spansAndMetricsReachARealOTLPReceiver() async throws {
        let python = try testPython()
        let port = try freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("otlp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("received.jsonl")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python/otlp_receiver.py").path
        let receiver = try SpawnedProcess(python, [script, "\(port)", out.path], output: directory.appendingPathComponent("receiver.log"))
        defer { receiver.terminate(grace: .seconds(2)) }
        for _ in 0..<200 where !canConnect(port: port) {
            guard receiver.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let receiverLog = { (try? String(contentsOf: directory.appendingPathComponent("receiver.log"), encoding: .utf8)) ?? "" }
        try #require(canConnect(port: port), "the OTLP receiver did not start: \(receiverLog())")

        let otel = try OTelExporter(serviceName: "otel-test", endpoint: "http://127.0.0.1:\(port)",
                                    spanDelay: .milliseconds(100), metricsInterval: .milliseconds(300))
        let registry = MemoryRegistry()
        let options = ServiceOptions(metricsFactory: otel.metricsFactory, tracer: otel.tracer)
        func make(_ name: String) throws -> MicroService {
            try MicroService(name: name, options: options, registry: registry, broker: MemoryBroker(), store: MemoryStore(),
                             transport: (HTTPClientTransport(), HTTPServerTransport()))
        }
        let front = try make("front"), back = try make("back")
        front.handle("Front.Hello") { (req: OHello, _) -> OReply in try await front.client.call("back", "Back.Hello", req) }
        back.handle("Back.Hello") { (req: OHello, _) in OReply(message: "hi \(req.name)") }

        var records: [Received] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await otel.service.run() }
            group.addTask { try await front.run() }
            group.addTask { try await back.run() }
            defer { front.stop(); back.stop(); group.cancelAll() }
            for _ in 0..<200 where try await registry.listServices().filter({ !$0.nodes.isEmpty }).count < 2 {
                try await Task.sleep(for: .milliseconds(10))
            }
            let reply: OReply = try await front.client.call("front", "Front.Hello", OHello(name: "o"))
            #expect(reply.message == "hi o")
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
                records = text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Received.self, from: Data($0.utf8)) }
                let names = Set(records.map(\.name))
                if names.isSuperset(of: ["Front.Hello", "Back.Hello", "micro_server_requests_total"]),
                   records.filter({ $0.type == "span" }).count >= 4 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            // The debug buffer records the OTel spans under the same W3C ids.
            let debug = try #require(back.debug).spans.spans(count: 10)
            let exported = Set(records.compactMap(\.span_id))
            #expect(!debug.isEmpty && debug.allSatisfy { exported.contains($0.spanID) }, "\(debug.map(\.spanID)) in \(exported)")
        }

        // OTLP span kinds: 2 server, 3 client.
        let spans = records.filter { $0.type == "span" }
        let listing = spans.map { "\($0.name)/\($0.kind ?? 0) \($0.span_id ?? "") <- \($0.parent_span_id ?? "")" }
        let frontServer = try #require(spans.first { $0.name == "Front.Hello" && $0.kind == 2 }, "\(listing); \(receiverLog().suffix(300))")
        let backClient = try #require(spans.first { $0.name == "Back.Hello" && $0.kind == 3 }, "\(listing)")
        let backServer = try #require(spans.first { $0.name == "Back.Hello" && $0.kind == 2 }, "\(listing)")
        #expect(Set([frontServer.trace_id, backClient.trace_id, backServer.trace_id]).count == 1)
        #expect(backClient.parent_span_id == frontServer.span_id)
        #expect(backServer.parent_span_id == backClient.span_id)
        #expect(backServer.attributes?["rpc.method"] == "Back.Hello" && backServer.attributes?["rpc.system"] == "micro")
        #expect(backServer.service == "otel-test")
        #expect(records.contains { $0.type == "metric" && $0.name == "micro_server_requests_total" })
    }
}
