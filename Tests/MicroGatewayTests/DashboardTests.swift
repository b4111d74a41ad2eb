import Foundation
import Micro
import MicroGateway
import MicroTestSupport
import Testing
import Tracing

/// `micro web` against a real greeter: pages, the live list, the call form's `/rpc`, escaping, static files.
@Suite(.serialized) struct DashboardTests {
    static func dashboard(greeterName: String = "greeter", metadata: [String: String] = [:],
                          _ body: @escaping @Sendable (String, MemoryRegistry, MicroService) async throws -> Void) async throws {
        try await GatewayFixture.run(greeterName: greeterName, metadata: metadata, server: { client, onRunning in
            WebDashboard(client: client, configuration: GatewayConfiguration(port: 0), onRunning: onRunning)
        }, body)
    }

    @Test func pagesShowServicesEndpointsShapesAndHealth() async throws {
        try await Self.dashboard { address, _, _ in
            let list = try await http(address, "GET", "/services.json")
            #expect(list.status == 200)
            let services = try #require(try JSONSerialization.jsonObject(with: Data(list.body)) as? [[String: Any]])
            #expect(services.first?["name"] as? String == "greeter")
            #expect(services.first?["nodes"] as? Int == 1)

            let index = try await http(address, "GET", "/")
            #expect(index.status == 200)
            #expect(index.headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(index.bodyText.contains("href=\"/service/greeter\""))
            #expect(index.bodyText.contains("registry <b id=\"registry\">memory</b>"))

            let page = try await http(address, "GET", "/service/greeter")
            #expect(page.status == 200)
            #expect(page.bodyText.contains("data-endpoint=\"Greeter.Hello\""))
            #expect(page.bodyText.contains("data-endpoint=\"Greeter.Countdown\""))
            #expect(page.bodyText.contains("name: string"), "the request shape")
            #expect(page.bodyText.contains("message: string"), "the response shape")
            #expect(page.bodyText.contains("<td class=\"health ok\">ok</td>"))

            let missing = try await http(address, "GET", "/service/nosuch")
            #expect(missing.status == 404)
        }
    }

    @Test func callFormPostsJSONOnly() async throws {
        try await Self.dashboard { address, _, _ in
            let call = #"{"service":"greeter","endpoint":"Greeter.Hello","request":{"name":"Web"}}"#
            let ok = try await http(address, "POST", "/rpc", headers: [("Content-Type", "application/json")], body: call)
            #expect(ok.status == 200)
            #expect(try object(ok)["message"] as? String == "Hello Web")
            // A form another site posts (text/plain needs no preflight) is refused.
            let forged = try await http(address, "POST", "/rpc", headers: [("Content-Type", "text/plain")], body: call)
            #expect(forged.status == 415)
        }
    }

    @Test func registryChangesArePushed() async throws {
        try await Self.dashboard { address, registry, service in
            let events = try await RawConnection.connect(address)
            defer { events.close() }
            try await events.send("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            #expect(await poll { events.text.contains("event: services\ndata: [{\"name\":\"greeter\"") }, "\(events.text)")
            service.stop()
            #expect(await poll(within: .seconds(8)) { events.text.contains("event: services\ndata: []") }, "\(events.text)")
        }
    }

    @Test func logTailFollowsTheService() async throws {
        try await Self.dashboard { address, _, _ in
            let tail = try await RawConnection.connect(address)
            defer { tail.close() }
            try await tail.send("GET /service/greeter/logs HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            #expect(await poll { tail.text.contains("retry: 5000") }, "\(tail.text)")
            let call = #"{"service":"greeter","endpoint":"Greeter.Hello","request":{"name":"LogTail"}}"#
            _ = try await http(address, "POST", "/rpc", headers: [("Content-Type", "application/json")], body: call)
            #expect(await poll { tail.text.contains("event: log") && tail.text.contains("greeting LogTail") }, "\(tail.text)")
        }
    }

    @Test func htmlFromTheRegistryIsEscaped() async throws {
        let name = "x<script>alert(1)</script>"
        try await Self.dashboard(greeterName: name, metadata: ["owner": "\"><img src=x onerror=alert(2)>"]) { address, _, _ in
            let index = try await http(address, "GET", "/")
            #expect(!index.bodyText.contains("<script>alert(1)"))
            #expect(index.bodyText.contains("x&lt;script&gt;alert(1)&lt;/script&gt;"))
            let page = try await http(address, "GET", "/service/" + name.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            #expect(page.status == 200, "\(page.bodyText)")
            #expect(!page.bodyText.contains("<script>alert(1)"))
            #expect(!page.bodyText.contains("<img src=x"))
            #expect(page.bodyText.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"))
            #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true)

            // Its trace: listed under the escaped name, linked by the percent-encoded one, drawn escaped.
            let call = #"{"service":"x<script>alert(1)</script>","endpoint":"Greeter.Hello","request":{"name":"XSS"}}"#
            let reply = try await http(address, "POST", "/rpc", headers: [("Content-Type", "application/json")], body: call)
            #expect(reply.status == 200, "\(reply.bodyText)")
            let traced = try await http(address, "GET", "/service/" + name.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            let link = try #require(traced.bodyText.range(of: "href=\"/service/x%3Cscript%3Ealert%281%29%3C%2Fscript%3E/trace/"), "\(traced.bodyText)")
            let traceID = String(traced.bodyText[link.upperBound...].prefix(32))
            #expect(!traced.bodyText.contains("<script>alert(1)"))
            let trace = try await http(address, "GET", "/service/x%3Cscript%3Ealert%281%29%3C%2Fscript%3E/trace/" + traceID)
            #expect(trace.status == 200, "\(trace.bodyText)")
            #expect(trace.bodyText.contains("<td>x&lt;script&gt;alert(1)&lt;/script&gt;</td><td>server</td>"), "\(trace.bodyText)")
            #expect(!trace.bodyText.contains("<script>alert(1)"))
        }
    }

    /// `front` (its handler opens a span with markup in its name and an attribute, then calls the greeter)
    /// called through the dashboard: the trace is on front's page and its page draws all four spans.
    @Test func tracesOfACallThroughTwoServices() async throws {
        try await Self.dashboard { address, registry, _ in
            let front = try MicroService(name: "front", registry: registry, broker: HTTPBroker(registry: registry),
                                         transport: (HTTPClientTransport(), HTTPServerTransport()))
            let tracer = try #require(front.debug?.tracer)
            front.handle("Front.Greet") { (request: HelloRequest, _) -> HelloReply in
                try await tracer.withSpan("render <script>alert(4)</script>") { span in
                    span.attributes["note"] = "\"><img src=x onerror=alert(5)>"
                    return try await front.client.call("greeter", "Greeter.Hello", request)
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await front.run() }
                defer {
                    front.stop()
                    group.cancelAll()
                }
                try await GatewayFixture.waitRegistered("front", in: registry)
                let call = #"{"service":"front","endpoint":"Front.Greet","request":{"name":"Trace"}}"#
                let reply = try await http(address, "POST", "/rpc", headers: [("Content-Type", "application/json")], body: call)
                #expect(reply.status == 200, "\(reply.bodyText)")

                let page = try await http(address, "GET", "/service/front")
                #expect(page.status == 200)
                let row = try #require(page.bodyText.range(of: "<tr class=\"trace\" data-trace=\""), "\(page.bodyText)")
                let traceID = String(page.bodyText[row.upperBound...].prefix(32))
                #expect(traceID.count == 32 && traceID.allSatisfy(\.isHexDigit), "\(traceID)")
                #expect(page.bodyText.contains("href=\"/service/front/trace/\(traceID)\""))
                #expect(page.bodyText.contains("<td>Front.Greet <small>server</small></td>"), "the root span of the trace")

                let trace = try await http(address, "GET", "/service/front/trace/\(traceID)")
                #expect(trace.status == 200, "\(trace.bodyText)")
                let rows = TraceRow.all(trace.bodyText)
                let frontServer = try #require(rows.first { $0.name == "Front.Greet" && $0.kind == "server" }, "\(trace.bodyText)")
                let inner = try #require(rows.first { $0.name.hasPrefix("render ") })
                let greeterClient = try #require(rows.first { $0.name == "Greeter.Hello" && $0.kind == "client" })
                let greeterServer = try #require(rows.first { $0.name == "Greeter.Hello" && $0.kind == "server" }, "followed into the greeter")
                #expect(frontServer.depth == 0 && frontServer.parent.isEmpty)
                #expect(inner.parent == frontServer.span && inner.depth == 1)
                #expect(greeterClient.parent == inner.span && greeterClient.depth == 2)
                #expect(greeterServer.parent == greeterClient.span && greeterServer.depth == 3 && greeterServer.service == "greeter")
                // Markup in span names and attributes is text.
                #expect(inner.name == "render &lt;script&gt;alert(4)&lt;/script&gt;")
                #expect(!trace.bodyText.contains("<script>alert(4)"))
                #expect(!trace.bodyText.contains("<img src=x"))
                #expect(trace.bodyText.contains("note=&quot;&gt;&lt;img src=x onerror=alert(5)&gt;"))

                let unknown = try await http(address, "GET", "/service/front/trace/" + String(repeating: "ab", count: 16))
                #expect(unknown.status == 404)
                for path in ["/service/front/trace/xyz", "/service/front/trace/", "/service/front/trace/\(traceID)0", "/service/nosuch/trace/\(traceID)"] {
                    let bad = try await http(address, "GET", path)
                    #expect(bad.status == 404, "\(path): \(bad.status)")
                }
            }
        }
    }

    @Test func staticFilesAreOnlyTheBundledOnes() async throws {
        try await Self.dashboard { address, _, _ in
            let script = try await http(address, "GET", "/static/app.js")
            #expect(script.status == 200)
            #expect(script.headers["content-type"]?.hasPrefix("text/javascript") == true)
            let style = try await http(address, "GET", "/static/app.css")
            #expect(style.status == 200)
            for path in ["/static/../Package.swift", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/..%2fPackage.swift", "/static/",
                         "/static//etc/passwd", "/../../etc/passwd", "/static/app.js/../../x"] {
                let r = try await http(address, "GET", path)
                #expect(r.status == 404, "\(path): \(r.status)")
                #expect(!r.bodyText.contains("root:"), "\(path)")
                #expect(!r.bodyText.contains("PackageDescription"), "\(path)")
            }
        }
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func poll(within timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A row of a trace page's waterfall, read back from its markup.
struct TraceRow {
    var span: String
    var parent: String
    var depth: Int
    var name: String
    var service: String
    var kind: String

    static func all(_ html: String) -> [TraceRow] {
        html.components(separatedBy: "<tr class=\"span").dropFirst().compactMap { row in
            func attribute(_ name: String) -> String? {
                guard let r = row.range(of: " \(name)=\"") else { return nil }
                return String(row[r.upperBound...].prefix { $0 != "\"" })
            }
            let cells = row.components(separatedBy: "<td").dropFirst().map { cell in
                String(cell.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" })
            }
            guard let span = attribute("data-span"), let parent = attribute("data-parent"), let depth = attribute("data-depth").flatMap(Int.init),
                  cells.count >= 3 else { return nil }
            let name = cells[0].replacingOccurrences(of: "&nbsp;", with: "").replacingOccurrences(of: "&#8627; ", with: "")
            return TraceRow(span: span, parent: parent, depth: depth, name: name, service: cells[1], kind: cells[2])
        }
    }
}
