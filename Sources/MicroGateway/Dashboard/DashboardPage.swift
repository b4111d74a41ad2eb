import Foundation
import MicroCore

/// The dashboard's pages, rendered on the server; every value from outside is escaped with ``HTML``.
enum DashboardPage {
    /// What a page shows about the engines in use.
    struct Engines: Sendable {
        var registry: String
        var broker: String
    }

    static func layout(title: String, engines: Engines, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title)) · Swift Micro</title><link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script></head>
        <body><header><a class="brand" href="/">Swift Micro</a><span class="engines">registry <b id="registry">\(HTML.escape(engines.registry))</b> · broker <b id="broker">\(HTML.escape(engines.broker))</b></span></header>
        <main>\(body)</main></body></html>
        """
    }

    /// The service list (kept live by the page's script from `/events`).
    static func index(_ services: [ServiceSummary], engines: Engines) -> String {
        var rows = ""
        for s in services {
            rows += "<tr class=\"service\" data-name=\"\(HTML.escape(s.name))\"><td><a href=\"/service/\(HTML.pathSegment(s.name))\">\(HTML.escape(s.name))</a></td>"
                + "<td>\(HTML.escape(s.versions.joined(separator: ", ")))</td><td>\(s.nodes)</td></tr>"
        }
        let body = """
        <h1>Services</h1>
        <table id="services"><thead><tr><th>Service</th><th>Versions</th><th>Nodes</th></tr></thead><tbody id="services-body">\(rows)</tbody></table>
        <p id="no-services"\(services.isEmpty ? "" : " hidden")>No services registered.</p>
        """
        return layout(title: "Services", engines: engines, body: body)
    }

    /// A service's page: versions, nodes and their health, endpoints with shapes and a call form each,
    /// stats, recent traces and the log.
    static func service(name: String, records: [ServiceRecord], health: [String: String], stats: String?,
                        traces: Result<[TraceSummary], MicroError>?, engines: Engines) -> String {
        var body = "<h1 id=\"service-name\" data-service=\"\(HTML.escape(name))\">\(HTML.escape(name))</h1>"
        body += "<p id=\"gone\" class=\"error\" hidden>This service has no nodes any more.</p>"
        for record in records {
            body += "<section class=\"version\"><h2>version \(HTML.escape(record.version))</h2>"
            if !record.metadata.isEmpty { body += "<p class=\"metadata\">\(metadata(record.metadata))</p>" }
            body += "<table class=\"nodes\"><thead><tr><th>Node</th><th>Address</th><th>Metadata</th><th>Health</th></tr></thead><tbody>"
            for node in record.nodes {
                let status = health[node.id] ?? "unknown"
                body += "<tr class=\"node\"><td>\(HTML.escape(node.id))</td><td>\(HTML.escape(node.address))</td>"
                    + "<td class=\"metadata\">\(metadata(node.metadata))</td>"
                    + "<td class=\"health \(status == "ok" ? "ok" : "error")\">\(HTML.escape(status))</td></tr>"
            }
            body += "</tbody></table>"
            body += "<h2>Endpoints</h2>"
            for endpoint in record.endpoints.sorted(by: { ($0.name.hasPrefix("Debug.") ? 1 : 0, $0.name) < ($1.name.hasPrefix("Debug.") ? 1 : 0, $1.name) }) {
                body += endpointSection(service: name, endpoint)
            }
            body += "</section>"
        }
        if let stats {
            body += "<section id=\"stats\"><h2>Stats</h2><pre>\(HTML.escape(stats))</pre></section>"
        }
        if let traces { body += TracePage.section(service: name, traces) }
        body += "<section><h2>Log</h2><pre id=\"logs\" data-source=\"/service/\(HTML.escape(HTML.pathSegment(name)))/logs\"></pre></section>"
        return layout(title: name, engines: engines, body: body)
    }

    static func endpointSection(service: String, _ endpoint: Endpoint) -> String {
        let streaming = endpoint.metadata["stream"] == "true"
        return """
        <article class="endpoint" data-endpoint="\(HTML.escape(endpoint.name))"><h3>\(HTML.escape(endpoint.name))\(streaming ? " <small>stream</small>" : "")</h3>
        <div class="shapes"><div><h4>Request</h4><pre class="shape request">\(HTML.escape(shapeText(endpoint.request)))</pre></div>
        <div><h4>Response</h4><pre class="shape response">\(HTML.escape(shapeText(endpoint.response)))</pre></div></div>
        <form class="call" data-service="\(HTML.escape(service))" data-endpoint="\(HTML.escape(endpoint.name))"\(streaming ? " data-stream=\"true\"" : "")>
        <textarea name="request" rows="3" spellcheck="false">\(HTML.escape(example(endpoint.request)))</textarea>
        <button type="submit">Call</button><pre class="result"></pre></form></article>
        """
    }

    static func metadata(_ m: [String: String]) -> String {
        m.sorted { $0.key < $1.key }.prefix(64).map { "<span class=\"kv\">\(HTML.escape($0.key))=\(HTML.escape($0.value))</span>" }.joined(separator: " ")
    }

    /// A shape as indented text: `HelloRequest {\n  name: string\n}`.
    static func shapeText(_ value: Value?, depth: Int = 0) -> String {
        guard let value else { return "(none)" }
        let pad = String(repeating: "  ", count: depth)
        guard !value.values.isEmpty, depth < 8 else { return value.type }
        var out = value.type + " {\n"
        for field in value.values.prefix(256) {
            out += pad + "  " + field.name + ": " + shapeText(field, depth: depth + 1) + "\n"
        }
        return out + pad + "}"
    }

    /// A request to start from: each field with a neutral value (JSON, keys sorted).
    static func example(_ value: Value?) -> String {
        guard let value, !value.values.isEmpty,
              let data = try? JSONSerialization.data(withJSONObject: neutral(value, depth: 0), options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func neutral(_ value: Value, depth: Int) -> Any {
        switch value.type {
        case "string", "bytes": return ""
        case "bool": return false
        case "int32", "int64", "uint32", "uint64", "float32", "float64", "double", "float", "int", "uint": return 0
        default:
            guard depth < 8 else { return [String: Any]() }
            var object: [String: Any] = [:]
            for field in value.values.prefix(256) { object[field.name] = neutral(field, depth: depth + 1) }
            return object
        }
    }

    static func notFound(_ what: String, engines: Engines) -> String {
        layout(title: "Not found", engines: engines, body: "<h1>Not found</h1><p class=\"error\">\(HTML.escape(what))</p><p><a href=\"/\">All services</a></p>")
    }
}
