/// Spans of traces arranged by parent: what `micro trace` prints and a dashboard can draw. Spans whose
/// parent is not among them are roots; children are in start order.
public struct SpanTree: Sendable {
    /// One span and the spans it started.
    public struct Node: Sendable {
        /// The span.
        public var span: SpanRecord
        /// Its children, by start time.
        public var children: [Node]
    }

    /// The roots, by start time.
    public var roots: [Node]

    /// The tree of `spans` (duplicates by span id, as two nodes' answers may overlap, are kept once).
    public init(_ spans: [SpanRecord]) {
        var byID: [String: SpanRecord] = [:]
        for s in spans where byID[s.spanID] == nil { byID[s.spanID] = s }
        var children: [String: [SpanRecord]] = [:]
        var roots: [SpanRecord] = []
        for s in byID.values {
            if let parent = s.parentID, byID[parent] != nil, parent != s.spanID { children[parent, default: []].append(s) } else { roots.append(s) }
        }
        // Depth-first from the roots; a cycle in bad data cannot recurse past the spans there are.
        var placed = Set<String>()
        func build(_ s: SpanRecord) -> Node {
            placed.insert(s.spanID)
            let kids = (children[s.spanID] ?? []).filter { !placed.contains($0.spanID) }.sorted { $0.start < $1.start }
            return Node(span: s, children: kids.map(build))
        }
        self.roots = roots.sorted { $0.start < $1.start }.map(build)
    }

    /// One line per span, indented by depth: name, service and kind, duration in milliseconds, and
    /// the status when it is an error.
    public func lines() -> [String] {
        var out: [String] = []
        func walk(_ node: Node, _ prefix: String, _ last: Bool, _ top: Bool) {
            let s = node.span
            let branch = top ? "" : (last ? "└─ " : "├─ ")
            let ms = Double(s.duration) / 1_000_000
            var line = "\(prefix)\(branch)\(s.name) [\(s.service) \(s.kind)] \(Self.format(ms)) ms"
            if s.status == "error" { line += " ERROR" + (s.statusMessage.map { ": \($0)" } ?? "") }
            out.append(line)
            let next = top ? prefix : prefix + (last ? "   " : "│  ")
            for (i, child) in node.children.enumerated() { walk(child, next, i == node.children.count - 1, false) }
        }
        for root in roots {
            out.append("trace \(root.span.traceID)")
            walk(root, "", true, true)
        }
        return out
    }

    private static func format(_ ms: Double) -> String {
        let tenths = (ms * 1000).rounded() / 1000
        return "\(tenths)"
    }
}
