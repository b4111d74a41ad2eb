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

    func validate() throws {
        if count < 0 { throw ValidationError("--count must not be negative") }
    }

    func run() async throws {
        try await runReporting {
            try await global.withClient { client in
                guard let traceID else { return try await summary(client) }
                let (spans, asked) = try await TraceGatherer(client: client, options: global.callOptions).trace(traceID, from: service, count: count)
                guard !spans.isEmpty else { throw MicroError.notFound("go.micro.client", "trace \(traceID): no spans in \(asked.joined(separator: ", "))") }
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
        let spans = try await TraceGatherer(client: client, options: global.callOptions).spans(of: service, DebugTraceRequest(count: count), required: true)
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
}
