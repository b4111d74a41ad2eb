import Foundation
import MicroCore

/// The dashboard's traces from `Debug.Trace`: a service's recent traces as a table, and one trace as a
/// waterfall of its span tree (nested rows, each with a bar for its place in the trace). Every span
/// name, service, attribute and status message is escaped with ``HTML``; bars are SVG attributes, not
/// inline styles, so the page's content security policy holds.
enum TracePage {
    /// How many recent traces a service's page lists.
    static let maxListed = 20
    /// How many spans a trace page draws.
    static let maxSpans = 500
    /// Nesting beyond this is drawn at this depth.
    static let maxIndent = 32

    /// The service page's section: newest first, each linking to its trace page; or the error asking gave.
    static func section(service: String, _ traces: Result<[TraceSummary], MicroError>) -> String {
        var body = "<section id=\"traces\"><h2>Traces</h2>"
        switch traces {
        case .failure(let error):
            body += "<p class=\"error\">\(HTML.escape(error.detail))</p>"
        case .success(let list) where list.isEmpty:
            body += "<p class=\"none\">No traces recorded.</p>"
        case .success(let list):
            body += "<table class=\"traces\"><thead><tr><th>Trace</th><th>Root span</th><th>Duration</th><th>Spans</th><th>Time</th></tr></thead><tbody>"
            for t in list {
                let link = "/service/\(HTML.pathSegment(service))/trace/\(HTML.pathSegment(t.traceID))"
                body += "<tr class=\"trace\(t.failed ? " error" : "")\" data-trace=\"\(HTML.escape(t.traceID))\">"
                    + "<td><a href=\"\(HTML.escape(link))\"><code>\(HTML.escape(t.traceID))</code></a></td>"
                    + "<td>\(HTML.escape(t.root.name)) <small>\(HTML.escape(t.root.kind))</small></td>"
                    + "<td>\(milliseconds(t.root.duration))</td><td>\(t.spans)</td><td>\(time(t.root.start))</td></tr>"
            }
            body += "</tbody></table>"
        }
        return body + "</section>"
    }

    /// One trace: its spans as a tree, in rows of name (indented by depth), service, kind, duration, a
    /// bar over the trace's time, status and attributes; at most ``maxSpans`` rows.
    static func trace(service: String, traceID: String, spans: [SpanRecord], services: [String], engines: DashboardPage.Engines) -> String {
        let tree = SpanTree(spans)
        var rows: [(SpanTree.Node, Int)] = []
        var total = 0
        func walk(_ node: SpanTree.Node, _ depth: Int) {
            total += 1
            if rows.count < maxSpans { rows.append((node, depth)) }
            for child in node.children { walk(child, depth + 1) }
        }
        for root in tree.roots { walk(root, 0) }
        let first = spans.map(\.start).min() ?? 0
        let last = spans.map { $0.start &+ max(0, $0.duration) }.max() ?? first
        let window = Double(max(1, last &- first))

        var body = "<p><a href=\"/service/\(HTML.escape(HTML.pathSegment(service)))\">\(HTML.escape(service))</a></p>"
        body += "<h1 id=\"trace-id\">trace <code>\(HTML.escape(traceID))</code></h1>"
        body += "<p class=\"trace-meta\">\(total) span\(total == 1 ? "" : "s") over \(milliseconds(last &- first)) from \(services.map(HTML.escape).joined(separator: ", "))</p>"
        body += "<table class=\"waterfall\"><thead><tr><th>Span</th><th>Service</th><th>Kind</th><th>Duration</th><th class=\"timeline\">Timeline</th><th>Status</th><th>Attributes</th></tr></thead><tbody>"
        for (node, depth) in rows {
            let s = node.span
            let failed = s.status == "error"
            let x = Double(max(0, s.start &- first)) / window * 1000
            let width = max(2, Double(max(0, s.duration)) / window * 1000)
            let indent = String(repeating: "&nbsp;&nbsp;", count: min(depth, maxIndent)) + (depth > 0 ? "&#8627; " : "")
            var status = HTML.escape(s.status)
            if let message = s.statusMessage { status += ": " + HTML.escape(message) }
            body += "<tr class=\"span\(failed ? " error" : "")\" data-span=\"\(HTML.escape(s.spanID))\" data-parent=\"\(HTML.escape(s.parentID ?? ""))\" data-depth=\"\(depth)\">"
                + "<td class=\"span-name\">\(indent)\(HTML.escape(s.name))</td><td>\(HTML.escape(s.service))</td><td>\(HTML.escape(s.kind))</td>"
                + "<td>\(milliseconds(s.duration))</td>"
                + "<td class=\"timeline\"><svg class=\"bar\" viewBox=\"0 0 1000 10\" preserveAspectRatio=\"none\"><rect x=\"\(Int(x.rounded()))\" width=\"\(Int(min(width, 1000 - x).rounded()))\" height=\"10\"/></svg></td>"
                + "<td class=\"status\">\(status)</td><td class=\"attributes\">\(DashboardPage.metadata(s.attributes))</td></tr>"
        }
        body += "</tbody></table>"
        if total > rows.count { body += "<p class=\"more\">\(total - rows.count) more spans not shown.</p>" }
        return DashboardPage.layout(title: "trace " + traceID, engines: engines, body: body)
    }

    /// Nanoseconds as milliseconds with three decimals.
    static func milliseconds(_ nanoseconds: Int64) -> String {
        String(format: "%.3f ms", Double(nanoseconds) / 1_000_000)
    }

    /// Nanoseconds since 1970 as an ISO 8601 UTC time with milliseconds.
    static func time(_ nanoseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(nanoseconds) / 1e9))
    }

    /// Whether `id` is a trace id: 32 hex digits.
    static func isTraceID(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
    }
}
