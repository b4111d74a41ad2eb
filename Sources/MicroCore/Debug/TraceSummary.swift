/// One trace as a service saw it, for a list of recent traces: its first root span (the earliest span
/// whose parent the service did not record), how many spans it kept, and whether any failed.
package struct TraceSummary: Sendable, Hashable {
    /// The trace id.
    package var traceID: String
    /// The earliest span of the trace without a recorded parent.
    package var root: SpanRecord
    /// How many spans of the trace there are.
    package var spans: Int
    /// Whether a span of it has the status `error`.
    package var failed: Bool

    /// One summary per trace among `spans`, newest root first, at most `limit`.
    package static func recent(_ spans: [SpanRecord], limit: Int) -> [TraceSummary] {
        let summaries = Dictionary(grouping: spans, by: \.traceID).compactMap { id, spans -> TraceSummary? in
            guard let root = SpanTree(spans).roots.first?.span else { return nil }
            let unique = Set(spans.map(\.spanID)).count
            return TraceSummary(traceID: id, root: root, spans: unique, failed: spans.contains { $0.status == "error" })
        }
        return Array(summaries.sorted { ($0.root.start, $0.traceID) > ($1.root.start, $1.traceID) }.prefix(max(0, limit)))
    }
}
