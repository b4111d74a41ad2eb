import Foundation
import Micro
import MicroGateway
import MicroTestSupport
import Testing

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
