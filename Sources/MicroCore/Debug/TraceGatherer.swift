/// Spans gathered from `Debug.Trace` on every node of a service, and one trace followed through the
/// services its client spans called: what `micro trace` prints and the dashboard draws.
package struct TraceGatherer: Sendable {
    /// The most services one trace is followed into.
    package static let maxServices = 64
    let client: Client
    let options: CallOptions

    /// Gathers through `client`, each call with `options` (narrowed to one node, without retries).
    package init(client: Client, options: CallOptions) {
        self.client = client
        self.options = options
    }

    /// The spans the nodes of `service` answer `request` with (all nodes asked at once). With `required`,
    /// a service without nodes or a node that fails is an error; without, it adds no spans.
    package func spans(of service: String, _ request: DebugTraceRequest, required: Bool) async throws -> [SpanRecord] {
        let nodes: DebugNodes
        do { nodes = try await DebugNodes(service, client: client, options: options) } catch where !required { return [] }
        let client = self.client
        return try await withThrowingTaskGroup(of: [SpanRecord].self) { group in
            for node in nodes.nodes {
                let options = nodes.options(for: node)
                group.addTask {
                    do {
                        let answer: DebugTraceResponse = try await client.call(service, "Debug.Trace", request, options: options)
                        return answer.spans
                    } catch where !required {
                        return []
                    }
                }
            }
            var spans: [SpanRecord] = []
            for try await found in group { spans += found }
            return spans
        }
    }

    /// Every span of trace `traceID` that `service` kept (it must answer), then those of each service a
    /// client span of the trace called (`rpc.service`), at most ``maxServices`` services; `count` spans a node.
    /// Returns the spans and the services asked.
    package func trace(_ traceID: String, from service: String, count: Int) async throws -> (spans: [SpanRecord], services: [String]) {
        let request = DebugTraceRequest(traceID: traceID.lowercased(), count: count)
        var spans: [SpanRecord] = []
        var asked: Set<String> = []
        var pending = [service]
        while let next = pending.popLast(), asked.count < Self.maxServices {
            guard asked.insert(next).inserted else { continue }
            let found = try await self.spans(of: next, request, required: next == service)
            spans += found
            for s in found where s.kind == "client" {
                if let callee = s.attributes["rpc.service"], !asked.contains(callee) { pending.append(callee) }
            }
        }
        return (spans, asked.sorted())
    }
}
