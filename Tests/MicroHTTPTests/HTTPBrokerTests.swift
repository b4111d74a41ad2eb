import Foundation
import MicroCore
@testable import MicroHTTP
import MicroTestSupport
import NIOCore
import Testing

extension HTTPTransportSuite {
    /// go-micro's HTTP broker: subscribers register as `micro.http.broker` nodes, publishers POST to them.
    @Suite struct HTTPBrokerTests {
        /// Messages each subscriber got, by subscriber name.
        final class Inbox: Sendable {
            let got = Shared<[String: [BrokerMessage]]>([:])
            func handler(_ name: String, failing: Bool = false) -> @Sendable (BrokerEvent) async throws -> Void {
                { event in
                    if failing { throw MicroError.internalServerError("sub", "\(name) always fails") }
                    self.got.update { $0[name, default: []].append(event.message) }
                }
            }
            func count(_ name: String) -> Int { got.value[name]?.count ?? 0 }
            var total: Int { got.value.values.reduce(0) { $0 + $1.count } }
        }

        static func message(_ i: Int) -> BrokerMessage {
            BrokerMessage(header: ["Content-Type": "application/json", "Micro-Id": "m\(i)"], body: Array("{\"i\":\(i)}".utf8))
        }

        static func shutdown(_ brokers: [HTTPBroker]) async {
            for b in brokers { await b.shutdown() }
        }

        @Test func subscriberRegistersAsGoMicroDoes() async throws {
            let registry = MemoryRegistry()
            let broker = HTTPBroker(registry: registry)
            let inbox = Inbox()
            _ = try await broker.subscribe("orders", queue: nil, handler: inbox.handler("a"))
            _ = try await broker.subscribe("orders", queue: "workers", handler: inbox.handler("b"))
            let records = try await registry.getService("micro.http.broker")
            let broadcast = try #require(records.first { $0.version == "ff.http.broadcast" })
            let queue = try #require(records.first { $0.version == "workers" })
            let address = try #require(broker.address)
            #expect(address.hasPrefix("127.0.0.1:"))
            for record in [broadcast, queue] {
                #expect(record.name == "micro.http.broker")
                let node = try #require(record.nodes.first)
                #expect(record.nodes.count == 1)
                #expect(node.id.hasPrefix("orders-"))
                #expect(node.address == address)
                #expect(node.metadata == ["secure": "false", "broker": "http", "topic": "orders"])
            }
            #expect(broadcast.nodes[0].id != queue.nodes[0].id)
            await broker.shutdown()
            #expect(try await registry.getService("micro.http.broker").flatMap(\.nodes).isEmpty)
        }

        @Test func broadcastReachesEverySubscriber() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let subscribers = (0..<3).map { _ in HTTPBroker(registry: registry) }
            for (i, b) in subscribers.enumerated() { _ = try await b.subscribe("news", queue: nil, handler: inbox.handler("s\(i)")) }
            let publisher = HTTPBroker(registry: registry)
            for i in 0..<5 { try await publisher.publish("news", Self.message(i)) }
            for i in 0..<3 {
                let got = inbox.got.value["s\(i)"] ?? []
                #expect(got.map { $0.header["Micro-Id"] } == (0..<5).map { "m\($0)" })
                #expect(got.allSatisfy { $0.header["Micro-Topic"] == "news" })
            }
            // Another topic reaches nobody.
            try await publisher.publish("other", Self.message(99))
            #expect(inbox.total == 15)
            await Self.shutdown(subscribers + [publisher])
        }

        @Test func queueGroupDeliversEachMessageToExactlyOneMember() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let members = (0..<3).map { _ in HTTPBroker(registry: registry) }
            for (i, b) in members.enumerated() { _ = try await b.subscribe("jobs", queue: "workers", handler: inbox.handler("w\(i)")) }
            let publisher = HTTPBroker(registry: registry)
            for i in 0..<30 { try await publisher.publish("jobs", Self.message(i)) }
            #expect(inbox.total == 30)
            let ids = inbox.got.value.values.flatMap { $0 }.compactMap { $0.header["Micro-Id"] }
            #expect(Set(ids).count == 30, "a message was delivered twice")
            let busy = (0..<3).filter { inbox.count("w\($0)") > 0 }
            #expect(busy.count >= 2, "one member took everything: \((0..<3).map { inbox.count("w\($0)") })")
            await Self.shutdown(members + [publisher])
        }

        @Test func broadcastAndQueueOnOneTopic() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let a = HTTPBroker(registry: registry)
            let b = HTTPBroker(registry: registry)
            _ = try await a.subscribe("mixed", queue: nil, handler: inbox.handler("all"))
            _ = try await a.subscribe("mixed", queue: "q", handler: inbox.handler("q1"))
            _ = try await b.subscribe("mixed", queue: "q", handler: inbox.handler("q2"))
            for i in 0..<10 { try await b.publish("mixed", Self.message(i)) }
            #expect(inbox.count("all") == 10)
            #expect(inbox.count("q1") + inbox.count("q2") == 10)
            await Self.shutdown([a, b])
        }

        @Test func failingQueueMemberHandsTheMessageToAnother() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let good = HTTPBroker(registry: registry)
            let bad = HTTPBroker(registry: registry)
            _ = try await good.subscribe("jobs", queue: "workers", handler: inbox.handler("good"))
            _ = try await bad.subscribe("jobs", queue: "workers", handler: inbox.handler("bad", failing: true))
            let publisher = HTTPBroker(registry: registry)
            for i in 0..<10 { try await publisher.publish("jobs", Self.message(i)) }
            #expect(inbox.count("good") == 10)
            await Self.shutdown([good, bad, publisher])
        }

        @Test func deadQueueMemberInTheRegistryIsSkipped() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let good = HTTPBroker(registry: registry)
            _ = try await good.subscribe("jobs", queue: "workers", handler: inbox.handler("good"))
            // A member that died without deregistering.
            let dead = ServiceRecord(name: "micro.http.broker", version: "workers", nodes: [
                Node(id: "jobs-dead", address: try await deadAddress(), metadata: ["secure": "false", "broker": "http", "topic": "jobs"]),
            ])
            try await registry.register(dead)
            let publisher = HTTPBroker(registry: registry)
            for i in 0..<10 { try await publisher.publish("jobs", Self.message(i)) }
            #expect(inbox.count("good") == 10)
            await Self.shutdown([good, publisher])
        }

        @Test func publishFailsWhenNoMemberTakesIt() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let bad = HTTPBroker(registry: registry)
            _ = try await bad.subscribe("jobs", queue: "workers", handler: inbox.handler("bad", failing: true))
            let publisher = HTTPBroker(registry: registry)
            let error = await caught { try await publisher.publish("jobs", Self.message(0)) }
            #expect(error != nil)
            // A failing broadcast subscriber fails the publish too.
            _ = try await bad.subscribe("news", queue: nil, handler: inbox.handler("bad", failing: true))
            #expect(await caught { try await publisher.publish("news", Self.message(1)) } != nil)
            await Self.shutdown([bad, publisher])
        }

        @Test func unsubscribeDeregisters() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let a = HTTPBroker(registry: registry)
            let b = HTTPBroker(registry: registry)
            let subA = try await a.subscribe("news", queue: nil, handler: inbox.handler("a"))
            _ = try await b.subscribe("news", queue: nil, handler: inbox.handler("b"))
            #expect(try await registry.getService("micro.http.broker").flatMap(\.nodes).count == 2)
            try await subA.unsubscribe()
            let nodes = try await registry.getService("micro.http.broker").flatMap(\.nodes)
            #expect(nodes.count == 1)
            #expect(nodes.first?.address == b.address)
            try await b.publish("news", Self.message(1))
            #expect(inbox.count("a") == 0)
            #expect(inbox.count("b") == 1)
            // Unsubscribing twice is harmless.
            try await subA.unsubscribe()
            await Self.shutdown([a, b])
        }

        func nodeID(_ registry: MemoryRegistry, topic: String) async throws -> String {
            try #require(try await registry.getService("micro.http.broker").flatMap(\.nodes).first { $0.metadata["topic"] == topic }?.id)
        }

        func post(_ address: String, path: String, body: String, method: String = "POST") async throws -> RawResponse {
            let raw = try await RawConnection.connect(address)
            defer { raw.close() }
            try await raw.send("\(method) \(path) HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            return try #require(await raw.response())
        }

        @Test func malformedDeliveriesAreRefusedWithoutHarm() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let broker = HTTPBroker(registry: registry)
            _ = try await broker.subscribe("t", queue: nil, handler: inbox.handler("s"))
            let address = try #require(broker.address)
            let id = try await nodeID(registry, topic: "t")
            let bad = try await post(address, path: "/?id=\(id)", body: "this is not json")
            #expect(bad.status == 400)
            #expect(MicroError.parse(bad.bodyText).code == 400)
            #expect(try await post(address, path: "/?id=\(id)", body: "{\"Header\":{},\"Body\":\"!!not base64!!\"}").status == 400)
            #expect(try await post(address, path: "/?id=\(id)", body: "[1,2,3]").status == 400)
            #expect(try await post(address, path: "/?id=\(id)", body: "{\"Header\":{\"Micro-Topic\":\"other\"},\"Body\":\"\"}").status == 400)
            #expect(try await post(address, path: "/?id=nobody", body: "{\"Header\":{},\"Body\":\"\"}").status == 404)
            #expect(try await post(address, path: "/", body: "{}").status == 404)
            #expect(try await post(address, path: "/?id=\(id)", body: "", method: "PUT").status == 405)
            #expect(inbox.total == 0)
            // Still delivering.
            try await broker.publish("t", Self.message(1))
            #expect(inbox.count("s") == 1)
            await broker.shutdown()
        }

        @Test func goMicroEnvelopePostedByCurlIsDelivered() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let broker = HTTPBroker(registry: registry)
            _ = try await broker.subscribe("greetings", queue: nil, handler: inbox.handler("s"))
            let address = try #require(broker.address)
            let id = try await nodeID(registry, topic: "greetings")
            // What a Go publisher sends: Header map, Body as standard base64 of the codec's bytes.
            let envelope = "{\"Header\":{\"Content-Type\":\"application/json\",\"Micro-Id\":\"go-1\",\"Micro-Topic\":\"greetings\",\"X-Trace\":\"tr\"},"
                + "\"Body\":\"eyJ0ZXh0IjoiaGkifQ==\"}"
            let query = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id
            guard let result = try await curl(["-s", "-w", "%{http_code}", "-H", "Content-Type: application/json", "-d", envelope,
                                               "http://\(address)/?id=\(query)"]) else { await broker.shutdown(); return }
            #expect(result.stdout.hasSuffix("200"), "curl printed \(result.stdout)")
            let got = try #require(inbox.got.value["s"]?.first)
            #expect(String(decoding: got.body, as: UTF8.self) == "{\"text\":\"hi\"}")
            #expect(got.header == ["Content-Type": "application/json", "Micro-Id": "go-1", "Micro-Topic": "greetings", "X-Trace": "tr"])

            // A nil Go []byte marshals as null.
            let empty = try await post(address, path: "/?id=\(query)", body: "{\"Header\":{\"Micro-Topic\":\"greetings\"},\"Body\":null}")
            #expect(empty.status == 200)
            #expect(inbox.got.value["s"]?.last?.body == [])
            await broker.shutdown()
        }

        @Test func publishSendsTheGoMicroEnvelope() async throws {
            let registry = MemoryRegistry()
            let scripted = try await ScriptedServer.start { _ in .reply(httpResponse(body: [])) }
            try await registry.register(ServiceRecord(name: "micro.http.broker", version: "ff.http.broadcast", nodes: [
                Node(id: "events-go&1", address: scripted.address, metadata: ["secure": "false", "broker": "http", "topic": "events"]),
            ]))
            let publisher = HTTPBroker(registry: registry)
            try await publisher.publish("events", BrokerMessage(header: ["Content-Type": "application/json", "Micro-Id": "x1"], body: Array("{\"a\":1}".utf8)))
            let seen = try #require(scripted.requests.first)
            #expect(seen.requestLine == "POST /?id=events-go%261 HTTP/1.1")
            #expect(seen.header("Content-Type") == "application/json")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(seen.body)) as? [String: Any])
            #expect(Set(object.keys) == ["Header", "Body"])
            #expect(object["Header"] as? [String: String] == ["Content-Type": "application/json", "Micro-Id": "x1", "Micro-Topic": "events"])
            #expect((object["Body"] as? String).flatMap { Data(base64Encoded: $0) } == Data("{\"a\":1}".utf8))
            await publisher.shutdown()
            await scripted.stop()
        }

        @Test func headersAndBinaryBodyRoundTrip() async throws {
            let registry = MemoryRegistry()
            let inbox = Inbox()
            let sub = HTTPBroker(registry: registry)
            _ = try await sub.subscribe("bin", queue: nil, handler: inbox.handler("s"))
            let publisher = HTTPBroker(registry: registry)
            let body = (0...255).map { UInt8($0) } + Array("ünïcødé".utf8)
            let header = ["Content-Type": "application/octet-stream", "Micro-Id": "b-1", "Tenant": "blue", "Quote": "\"q\" & <tags>"]
            try await publisher.publish("bin", BrokerMessage(header: header, body: body))
            let got = try #require(inbox.got.value["s"]?.first)
            #expect(got.body == body)
            #expect(got.header == header.merging(["Micro-Topic": "bin"]) { $1 })
            await Self.shutdown([sub, publisher])
        }
    }
}
