import Foundation
import MicroCore
@testable import MicroNATS
@testable import NATSClient
import NIOCore
import Testing

extension NATSSuite {
    /// ``NATSRegistry`` against a real nats-server, across two instances on separate connections (one
    /// registers, the other sees): the same expectations as the memory and local registries.
    @Suite struct NATSRegistryTests {
        typealias K = NATSTestKit

        func node(_ id: String, _ address: String? = nil) -> Node {
            Node(id: id, address: address ?? "127.0.0.1:\(10000 + abs(id.hashValue % 50000))", metadata: ["protocol": "mucp"])
        }

        func record(_ name: String, _ nodes: Node..., version: String = "latest") -> ServiceRecord {
            ServiceRecord(name: name, version: version, nodes: nodes)
        }

        func pair(_ server: NATSServerProcess, configuration: NATSRegistryConfiguration = NATSRegistryConfiguration()) -> (NATSRegistry, NATSRegistry) {
            (NATSRegistry(options: NATSOptions(servers: [server.url]), configuration: configuration, logger: K.logger),
             NATSRegistry(options: NATSOptions(servers: [server.url]), configuration: configuration, logger: K.logger))
        }

        @Test func registerGetListDeregister() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            #expect(a.name == "nats")
            #expect(try await b.getService("greeter").isEmpty)
            try await a.register(record("greeter", node("g1")))
            try await a.register(record("store", node("s1")))
            let got = try await b.getService("greeter")
            #expect(got.count == 1)
            #expect(got.first?.nodes.map(\.id) == ["g1"])
            #expect(try await b.listServices().map(\.name) == ["greeter", "store"])
            try await a.deregister(record("greeter", node("g1")))
            #expect(try await b.getService("greeter").isEmpty)
            #expect(try await b.listServices().map(\.name) == ["store"])
            await a.shutdown()
            await b.shutdown()
        }

        @Test func nodesFromSeveralProcessesAreMerged() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            let c = NATSRegistry(options: NATSOptions(servers: [server.url]), logger: K.logger)
            try await a.register(record("greeter", node("g-a"), version: "1"))
            try await b.register(record("greeter", node("g-b"), version: "1"))
            try await b.register(record("greeter", node("g-c"), version: "2"))
            let got = try await c.getService("greeter")
            #expect(got.map(\.version) == ["1", "2"])
            #expect(Set(got.first?.nodes.map(\.id) ?? []) == ["g-a", "g-b"])
            #expect(got.last?.nodes.map(\.id) == ["g-c"])
            #expect(try await c.listServices().map { "\($0.name)@\($0.version)" } == ["greeter@1", "greeter@2"])
            for r in [a, b, c] { await r.shutdown() }
        }

        @Test func metadataAndEndpointsRoundTrip() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            let service = ServiceRecord(
                name: "greeter", version: "1.2.0", metadata: ["team": "core", "region": "eu"],
                endpoints: [
                    Endpoint(name: "Greeter.Hello",
                             request: Value(name: "Request", type: "Request", values: [Value(name: "name", type: "string")]),
                             response: Value(name: "Response", type: "Response", values: [
                                Value(name: "msg", type: "string"),
                                Value(name: "meta", type: "Meta", values: [Value(name: "count", type: "int64")]),
                             ]),
                             metadata: ["stream": "false"]),
                    Endpoint(name: "Greeter.Stream", metadata: ["stream": "true"]),
                ],
                nodes: [Node(id: "greeter-1", address: "micro.rpc.abc", metadata: ["protocol": "nats", "transport": "nats"])])
            try await a.register(service, ttl: .seconds(90))
            #expect(try await b.getService("greeter") == [service])
            #expect(try await b.listServices() == [service])
            #expect(try await b.getService("other").isEmpty)
            await a.shutdown()
            await b.shutdown()
        }

        @Test func ttlExpiresNodesThatAreNotReRegistered() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            let start = ContinuousClock.now
            try await a.register(record("greeter", node("short")), ttl: .milliseconds(600))
            try await a.register(record("greeter", node("long")), ttl: .seconds(60))
            let before = try await b.getService("greeter").first?.nodes.count
            if ContinuousClock.now - start < .milliseconds(500) { #expect(before == 2) }
            try await Task.sleep(until: start + .milliseconds(800), clock: .continuous)
            #expect(try await b.getService("greeter").first?.nodes.map(\.id) == ["long"])
            // A heartbeat within the TTL keeps a node.
            try await a.register(record("store", node("beat")), ttl: .milliseconds(600))
            for _ in 0..<4 {
                try await Task.sleep(for: .milliseconds(300))
                try await a.register(record("store", node("beat")), ttl: .milliseconds(600))
            }
            #expect(try await b.getService("store").first?.nodes.map(\.id) == ["beat"])
            await a.shutdown()
            await b.shutdown()
        }

        @Test func aProcessThatDiesStopsAnsweringAndWatchersExpireIt() async throws {
            let server = try await NATSServerProcess()
            var config = NATSRegistryConfiguration()
            config.watchSweepInterval = .milliseconds(50)
            let crashing = try await K.connect(server, name: "crashing")
            let a = NATSRegistry(connection: crashing, configuration: config, logger: K.logger)
            let b = NATSRegistry(options: NATSOptions(servers: [server.url]), configuration: config, logger: K.logger)
            let log = K.WatchLog(try await b.watch(service: nil))
            defer { log.stop() }
            try await a.register(record("crashy", node("c1")), ttl: .seconds(1))
            #expect(await log.wait(count: 1).map(\.action) == [.create])
            #expect(try await b.getService("crashy").first?.nodes.map(\.id) == ["c1"])
            // The process dies without deregistering: its connection goes, nothing is announced.
            await crashing.close()
            #expect(try await b.getService("crashy").isEmpty, "nobody answers for it any more")
            let events = await log.wait(count: 2, timeout: .seconds(3))
            #expect(events.map(\.action) == [.create, .delete])
            #expect(events.last?.service.nodes.map(\.id) == ["c1"])
            await a.shutdown()
            await b.shutdown()
        }

        @Test func watchSeesCreateUpdateDelete() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            let log = K.WatchLog(try await b.watch(service: nil))
            defer { log.stop() }
            try await a.register(record("greeter", node("g1")))
            try await a.register(record("greeter", node("g1")))  // heartbeat: no event
            try await a.register(record("greeter", node("g2")))
            try await a.deregister(record("greeter", node("g1")))
            try await a.deregister(record("greeter", node("g2")))
            let events = await log.wait(count: 4)
            #expect(events.map(\.action) == [.create, .update, .update, .delete])
            #expect(events.map { $0.service.nodes.map(\.id) } == [["g1"], ["g1", "g2"], ["g2"], ["g2"]])
            try await Task.sleep(for: .milliseconds(100))
            #expect(log.all.count == 4)
            await a.shutdown()
            await b.shutdown()
        }

        @Test func watchForOneServiceIgnoresOthers() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            let log = K.WatchLog(try await b.watch(service: "greeter"))
            defer { log.stop() }
            try await a.register(record("store", node("s1")))
            try await a.register(record("greeter", node("g1")))
            try await a.register(record("store", node("s2")))
            let events = await log.wait(count: 1)
            try await Task.sleep(for: .milliseconds(100))
            #expect(log.all.count == 1)
            #expect(events.first?.service.name == "greeter")
            #expect(events.first?.action == .create)
            await a.shutdown()
            await b.shutdown()
        }

        @Test func watchStartsFromWhatExists() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            try await a.register(record("greeter", node("g1")), ttl: .seconds(30))
            let log = K.WatchLog(try await b.watch(service: nil))
            defer { log.stop() }
            // A heartbeat of a node that existed when the watch opened is not news; a new node is.
            try await a.register(record("greeter", node("g1")), ttl: .seconds(30))
            try await a.register(record("greeter", node("g2")), ttl: .seconds(30))
            let events = await log.wait(count: 1)
            try await Task.sleep(for: .milliseconds(100))
            #expect(log.all.map(\.action) == [.update])
            #expect(events.first?.service.nodes.map(\.id) == ["g1", "g2"])
            await a.shutdown()
            await b.shutdown()
        }

        @Test func expiryProducesDeleteEvent() async throws {
            let server = try await NATSServerProcess()
            var config = NATSRegistryConfiguration()
            config.watchSweepInterval = .milliseconds(50)
            let (a, b) = pair(server, configuration: config)
            let log = K.WatchLog(try await b.watch(service: nil))
            defer { log.stop() }
            try await a.register(record("greeter", node("g1")), ttl: .milliseconds(300))
            let events = await log.wait(count: 2, timeout: .seconds(3))
            #expect(events.map(\.action) == [.create, .delete])
            #expect(events.last?.service.nodes.map(\.id) == ["g1"])
            #expect(try await b.getService("greeter").isEmpty)
            await a.shutdown()
            await b.shutdown()
        }

        @Test func manyNodesOfOneService() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            let ids = (0..<100).map { "greeter-\($0)" }
            for (i, id) in ids.enumerated() { try await a.register(record("greeter", node(id, "10.0.0.\(i % 250):\(8000 + i)"))) }
            let records = try await b.getService("greeter")
            #expect(records.count == 1)
            #expect(records.first?.nodes.map(\.id) == ids)
            #expect(Set(records.first?.nodes.map(\.address) ?? []).count == 100)
            await a.shutdown()
            await b.shutdown()
        }

        @Test func concurrentRegistrations() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            let log = K.WatchLog(try await b.watch(service: nil))
            defer { log.stop() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask { try await a.register(record("svc\(i % 4)", node("n\(i)")), ttl: .seconds(60)) }
                }
                try await group.waitForAll()
            }
            let all = try await b.listServices()
            #expect(all.map(\.name) == ["svc0", "svc1", "svc2", "svc3"])
            #expect(all.allSatisfy { $0.nodes.count == 50 })
            #expect(Set(all.flatMap(\.nodes).map(\.id)).count == 200)
            let events = await log.wait(count: 200)
            #expect(events.count == 200)
            #expect(events.filter { $0.action == .create }.count == 4)
            #expect(events.filter { $0.action == .update }.count == 196)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask { try await a.deregister(record("svc\(i % 4)", node("n\(i)"))) }
                }
                try await group.waitForAll()
            }
            #expect(try await b.listServices().isEmpty)
            let after = await log.wait(count: 400)
            #expect(after.count == 400)
            #expect(after.filter { $0.action == .delete }.count == 4)
            await a.shutdown()
            await b.shutdown()
        }

        @Test func watchEndsWhenConsumerCancels() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            let watch = try await b.watch(service: nil)
            let task = Task { var n = 0; do { for try await _ in watch { n += 1 } } catch {}; return n }
            try await a.register(record("greeter", node("g1")))
            task.cancel()
            let n = await task.value
            #expect(n <= 1)
            try await a.register(record("greeter", node("g2")))
            await a.shutdown()
            await b.shutdown()
        }

        @Test func shutdownEndsWatchesAndStopsAnswering() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            try await a.register(record("greeter", node("g1")))
            let watch = try await a.watch(service: nil)
            let ended = Task { do { for try await _ in watch {} } catch {}; return true }
            await a.shutdown()
            #expect(await ended.value)
            #expect(try await b.getService("greeter").isEmpty)
            let error = await K.caught { try await a.register(record("greeter", node("g2"))) }
            #expect((error as? TransportError)?.code == .shutdown, "got \(String(describing: error))")
            await b.shutdown()
        }

        @Test func speaksGoMicrosWireFormat() async throws {
            let server = try await NATSServerProcess()
            let raw = try await K.connect(server, name: "raw-go-peer")
            let watchTopic = try raw.subscribe("micro.nats.watch")
            try await raw.flush()
            let registry = NATSRegistry(options: NATSOptions(servers: [server.url]), logger: K.logger)
            try await registry.register(record("greeter", node("g1", "127.0.0.1:9000")), ttl: .seconds(90))

            // The announcement: {"Service": {...}, "Action": "create", "TTL": ns}.
            var iterator = watchTopic.makeAsyncIterator()
            let announced = try #require(await iterator.next())
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: announced.payload)) as? [String: Any])
            #expect(object["Action"] as? String == "create")
            #expect(object["TTL"] as? Int64 == 90_000_000_000)
            let service = try #require(object["Service"] as? [String: Any])
            #expect(service["name"] as? String == "greeter")
            #expect(((service["nodes"] as? [[String: Any]])?.first?["address"]) as? String == "127.0.0.1:9000")

            // A Go node's query: {"Service": {"name": ...}, "Action": "get"}; each answer is one Service JSON.
            let inbox = raw.newInbox()
            let answers = try raw.subscribe(inbox)
            try await raw.publish("micro.nats.query", payload: ByteBuffer(string: #"{"Service":{"name":"greeter","version":"","metadata":null,"endpoints":null,"nodes":null},"Action":"get"}"#), replyTo: inbox)
            var answerIterator = answers.makeAsyncIterator()
            let answer = try #require(await answerIterator.next())
            let decoded = try JSONDecoder().decode(ServiceRecord.self, from: Data(buffer: answer.payload))
            #expect(decoded.name == "greeter" && decoded.nodes.map(\.id) == ["g1"])
            // A list query ({"Service": null, "Action": "list"}) is answered too.
            try await raw.publish("micro.nats.query", payload: ByteBuffer(string: #"{"Service":null,"Action":"list"}"#), replyTo: inbox)
            let listed = try #require(await answerIterator.next())
            #expect(try JSONDecoder().decode(ServiceRecord.self, from: Data(buffer: listed.payload)).name == "greeter")
            // A query for another service gets no answer from this process.
            try await raw.publish("micro.nats.query", payload: ByteBuffer(string: #"{"Service":{"name":"other"},"Action":"get"}"#), replyTo: inbox)
            try await raw.publish("micro.nats.query", payload: ByteBuffer(string: "garbage"), replyTo: inbox)
            try await Task.sleep(for: .milliseconds(200))
            #expect(answers.pendingMessages == 0)

            // A Go node's announcements ({"Action":"create"} without TTL) reach watchers and queries' view.
            let log = K.WatchLog(try await registry.watch(service: "gosvc"))
            defer { log.stop() }
            try await raw.publish("micro.nats.watch", payload: ByteBuffer(string: #"{"Service":{"name":"gosvc","version":"1.0","metadata":null,"endpoints":null,"nodes":[{"metadata":{"protocol":"mucp"},"id":"gosvc-1","address":"10.0.0.1:1234"}]},"Action":"create"}"#))
            let events = await log.wait(count: 1)
            #expect(events.first?.action == .create)
            #expect(events.first?.service.nodes.first?.address == "10.0.0.1:1234")
            try await raw.publish("micro.nats.watch", payload: ByteBuffer(string: #"{"Service":{"name":"gosvc","version":"1.0","nodes":[{"id":"gosvc-1"}]},"Action":"delete"}"#))
            #expect(await log.wait(count: 2).map(\.action) == [.create, .delete])
            await registry.shutdown()
            await raw.close()
        }

        @Test func answersAGoNodesQueryAndReadsGoAnswers() async throws {
            // A raw peer answering queries as a Go node does: one Service JSON per reply.
            let server = try await NATSServerProcess()
            let raw = try await K.connect(server, name: "go-node")
            let queries = try raw.subscribe("micro.nats.query")
            try await raw.flush()
            let answering = Task {
                for await q in queries {
                    guard let reply = q.replyTo else { continue }
                    let text = String(buffer: q.payload)
                    if text.contains("\"get\"") && !text.contains("\"gosvc\"") { continue }
                    try? await raw.publish(reply, payload: ByteBuffer(string: #"{"name":"gosvc","version":"1.0","metadata":{"k":"v"},"endpoints":null,"nodes":[{"metadata":null,"id":"gosvc-1","address":"10.0.0.1:1234"}]}"#))
                }
            }
            let registry = NATSRegistry(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let got = try await registry.getService("gosvc")
            #expect(got == [ServiceRecord(name: "gosvc", version: "1.0", metadata: ["k": "v"], nodes: [Node(id: "gosvc-1", address: "10.0.0.1:1234")])])
            #expect(try await registry.listServices().map(\.name) == ["gosvc"])
            #expect(try await registry.getService("nothing").isEmpty)
            await registry.shutdown()
            try queries.unsubscribe()
            await answering.value
            await raw.close()
        }

        @Test func legacyTopicsAreConfigurable() async throws {
            let server = try await NATSServerProcess()
            let legacy = NATSRegistryConfiguration.legacyTopics
            #expect(legacy.queryTopic == "micro.registry.nats.query")
            let (a, b) = pair(server, configuration: legacy)
            let modern = NATSRegistry(options: NATSOptions(servers: [server.url]), logger: K.logger)
            try await a.register(record("old", node("o1")))
            #expect(try await b.getService("old").count == 1)
            #expect(try await modern.getService("old").isEmpty, "different topics do not see each other")
            for r in [a, b, modern] { await r.shutdown() }
        }

        @Test func registrationsAnswerAgainAfterAServerRestart() async throws {
            let server = try await NATSServerProcess()
            let (a, b) = pair(server)
            try await a.register(record("greeter", node("g1")), ttl: .seconds(60))
            #expect(try await b.getService("greeter").count == 1)
            server.stop()
            try await server.start()
            let back = await K.eventually(within: .seconds(10)) {
                (try? await b.getService("greeter").first?.nodes.map(\.id)) == ["g1"]
            }
            #expect(back)
            await a.shutdown()
            await b.shutdown()
        }
    }
}
