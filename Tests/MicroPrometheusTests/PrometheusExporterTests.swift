import Foundation
import Micro
import MicroHTTP
import MicroPrometheus
import MicroTestSupport
import Testing

private struct PHello: Codable, Sendable { var name: String }
private struct PReply: Codable, Sendable { var message: String }

/// A greeter-like service exports its metrics at `/metrics` on its own HTTP port; a real Prometheus
/// scrapes it and answers a PromQL query about the request counter.
@Suite struct PrometheusExporterTests {
    @Test func aRealPrometheusScrapesTheServiceAndCountsItsCalls() async throws {
        let exporter = PrometheusExporter()
        let registry = MemoryRegistry()
        let service = try MicroService(name: "greeter", options: ServiceOptions(metricsFactory: exporter.factory),
                                       registry: registry, broker: MemoryBroker(), store: MemoryStore(),
                                       transport: (HTTPClientTransport(), HTTPServerTransport()))
        service.handle("Greeter.Hello") { (req: PHello, _) in PReply(message: "Hello \(req.name)") }
        service.handle("Greeter.Fail") { (_: PHello, _) -> PReply in throw MicroError.badRequest("greeter", "no") }
        exporter.serve(on: service.router)
        try await running(service) { target, port in
            let client = Client(registry: registry, transports: [HTTPClientTransport()], broker: MemoryBroker())
            for i in 0..<7 { let _: PReply = try await client.call("greeter", "Greeter.Hello", PHello(name: "\(i)")) }
            await #expect(throws: MicroError.self) { let _: PReply = try await client.call("greeter", "Greeter.Fail", PHello(name: "x")) }
            await client.shutdown()

            // The page itself, on the service's port.
            let page = try httpGet(port: port, path: "/metrics")
            #expect(page.contains(#"micro_server_requests_total{service="greeter",endpoint="Greeter.Hello",status="success"} 7"#), "\(page.prefix(2000))")
            #expect(page.contains(#"status="400""#))

            // A real Prometheus scraping it.
            let prometheus = try await PrometheusProcess(targets: [target])
            defer { prometheus.stop() }
            let query = #"sum(micro_server_requests_total{job="micro",endpoint="Greeter.Hello",status="success"})"#
            var answer = ""
            let found = try await poll(timeout: .seconds(20)) {
                answer = try prometheus.query(query)
                return answer.contains(#""7"]"#)
            }
            #expect(found, "PromQL \(query) answered \(answer); prometheus log: \(prometheus.log.suffix(500))")
            let up = try prometheus.query(#"up{job="micro"}"#)
            #expect(up.contains(#""1"]"#), "\(up)")
        }
    }

    @Test func unknownPathsStillAnswer404AndHealthIsUnchanged() async throws {
        let exporter = PrometheusExporter()
        let service = try MicroService(name: "plain", registry: MemoryRegistry(), broker: MemoryBroker(), store: MemoryStore(),
                                       transport: (HTTPClientTransport(), HTTPServerTransport()))
        exporter.serve(on: service.router)
        try await running(service) { _, port in
            let health = try httpGet(port: port, path: "/health")
            #expect(health.contains("ok"))
            #expect(throws: EngineMissing.self) { try httpGet(port: port, path: "/metricz") }
            #expect((try? httpGet(port: port, path: "/metrics?x=1")) != nil, "the query string is not part of the path")
        }
    }
}

/// Runs `service` while `body` gets its address and port, then stops it.
private func running(_ service: MicroService, _ body: (String, Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await service.run() }
        defer { service.stop() }
        var address: String?
        for _ in 0..<200 where address == nil {
            address = service.address
            try await Task.sleep(for: .milliseconds(10))
        }
        let bound = try #require(address)
        try await body(bound, try #require(Int(bound.split(separator: ":").last ?? "")))
    }
}

private func poll(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(250))
    }
    return try await condition()
}
