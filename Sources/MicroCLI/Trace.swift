import ArgumentParser
import Foundation
import Micro

/// `micro trace SERVICE [TRACE_ID]`: the recent traces a service took part in (from every node's
/// `Debug.Trace`), slowest first; with a trace id, that trace as a tree of spans with durations,
/// gathered from the service and every service its spans called.
struct Trace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a service's recent traces, or print one trace as a tree of spans.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Service name.") var service: String
    @Argument(help: "A trace id (32 hex digits): print its spans as a tree.") var traceID: String?
    @Option(name: [.customShort("n"), .long], help: "How many recent spans per node to look at (capped by the service).") var count: Int = 1000
    @Flag(help: "Print the spans as JSON, one per line.") var json = false

    /// The most services one trace is followed into.
    static let maxServices = 64

    func validate() throws {
        if count < 0 { throw ValidationError("--count must not be negative") }
    }

    func run() async throws {
        try await runReporting {
            try await global.withClient { client in
                guard let traceID else { return try await summary(client) }
                var spans: [SpanRecord] = []
                var asked: Set<String> = []
                var pending = [service]
                while let next = pending.popLast(), asked.count < Self.maxServices {
                    guard asked.insert(next).inserted else { continue }
                    let found = try await collect(next, DebugTraceRequest(traceID: traceID.lowercased(), count: count), client, required: next == service)
                    spans += found
                    // Follow the calls this service's spans made into the services they called.
                    for s in found where s.kind == "client" { if let callee = s.attributes["rpc.service"], !asked.contains(callee) { pending.append(callee) } }
                }
                guard !spans.isEmpty else { throw MicroError.notFound("go.micro.client", "trace \(traceID): no spans in \(asked.sorted().joined(separator: ", "))") }
                if json {
                    for s in spans.sorted(by: { $0.start < $1.start }) { try emit(String(decoding: try JSONEncoder().encode(s), as: UTF8.self)) }
                } else {
                    for line in SpanTree(spans).lines() { try emit(line) }
                }
            }
        }
    }

    /// One line per recent trace: its id, the slowest span of it this service saw, span count.
    private func summary(_ client: Client) async throws {
        let spans = try await collect(service, DebugTraceRequest(count: count), client, required: true)
        let traces = Dictionary(grouping: spans, by: \.traceID)
        let rows = traces.map { id, spans in (id, spans.max { $0.duration < $1.duration }!, spans.count) }
            .sorted { $0.1.duration > $1.1.duration }
        if json {
            for s in spans { try emit(String(decoding: try JSONEncoder().encode(s), as: UTF8.self)) }
            return
        }
        for (id, slowest, n) in rows {
            try emit("\(id) \(slowest.name) \(String(format: "%.3f", Double(slowest.duration) / 1e6)) ms \(n) span\(n == 1 ? "" : "s")\(slowest.status == "error" ? " ERROR" : "")")
        }
    }

    private func collect(_ service: String, _ request: DebugTraceRequest, _ client: Client, required: Bool) async throws -> [SpanRecord] {
        let nodes: DebugNodes
        do { nodes = try await DebugNodes(service, client: client, options: global.callOptions) } catch where !required { return [] }
        var spans: [SpanRecord] = []
        for node in nodes.nodes {
            do {
                let answer: DebugTraceResponse = try await client.call(service, "Debug.Trace", request, options: nodes.options(for: node))
                spans += answer.spans
            } catch where !required {
                continue
            }
        }
        return spans
    }
}
