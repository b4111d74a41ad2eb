import Foundation
import MicroCore
@testable import MicroNATS
@testable import NATSClient
import NIOCore
import Testing

extension NATSSuite {
    /// ``NATSBroker`` against a real nats-server: go-micro's envelope, broadcast, queue groups, unsubscribe.
    @Suite struct NATSBrokerTests {
        typealias K = NATSTestKit

        func message(_ text: String, _ header: [String: String] = [:]) -> BrokerMessage {
            BrokerMessage(header: header.merging(["Content-Type": "application/json"]) { a, _ in a }, body: Array(text.utf8))
        }

        @Test func publishSubscribeRoundTrip() async throws {
            let server = try await NATSServerProcess()
            let publisher = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let subscriber = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            #expect(publisher.name == "nats")
            let got = K.Box<[BrokerEvent]>([])
            let sub = try await subscriber.subscribe("orders.created", queue: nil) { e in got.update { $0.append(e) } }
            #expect(sub.topic == "orders.created" && sub.queue == nil)
            let sent = message("{\"id\":1}", ["Micro-Topic": "orders.created", "Micro-Id": "m-1", "Trace": "t"])
            try await publisher.publish("orders.created", sent)
            #expect(await K.eventually { got.value.count == 1 })
            #expect(got.value.first?.topic == "orders.created")
            #expect(got.value.first?.message == sent)
            await publisher.shutdown()
            await subscriber.shutdown()
            #expect(subscriber.subscriptionCount == 0)
        }

        @Test func payloadIsGoMicrosJSONEnvelope() async throws {
            let server = try await NATSServerProcess()
            let connection = try await K.connect(server)
            let raw = try connection.subscribe("env.topic")
            try await connection.flush()
            let broker = NATSBroker(connection: connection, logger: K.logger)
            try await broker.publish("env.topic", BrokerMessage(header: ["Micro-Topic": "env.topic"], body: [0, 1, 2, 255]))
            var iterator = raw.makeAsyncIterator()
            let delivered = try #require(await iterator.next())
            #expect(delivered.headers == nil, "go-micro's NATS broker sends plain messages")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: delivered.payload)) as? [String: Any])
            #expect(Set(object.keys) == ["Header", "Body"])
            #expect((object["Header"] as? [String: String]) == ["Micro-Topic": "env.topic"])
            #expect(object["Body"] as? String == Data([0, 1, 2, 255]).base64EncodedString())
            await broker.shutdown()
            // A shared connection stays open after the broker's shutdown.
            #expect(connection.status == .connected)
            await connection.close()
        }

        @Test func broadcastReachesEverySubscriber() async throws {
            let server = try await NATSServerProcess()
            let brokers = [NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger),
                           NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger),
                           NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)]
            let counts = K.Box([0, 0, 0])
            for (i, b) in brokers.enumerated() {
                _ = try await b.subscribe("news", queue: nil) { _ in counts.update { $0[i] += 1 } }
            }
            for n in 0..<20 { try await brokers[0].publish("news", message("\(n)")) }
            #expect(await K.eventually { counts.value == [20, 20, 20] }, "got \(counts.value)")
            for b in brokers { await b.shutdown() }
        }

        @Test func queueGroupDeliversEachMessageToExactlyOneMember() async throws {
            let server = try await NATSServerProcess()
            let members = (0..<3).map { _ in NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger) }
            let seen = K.Box<[Int: [String]]>([:])
            for (i, m) in members.enumerated() {
                let sub = try await m.subscribe("jobs", queue: "workers") { e in
                    seen.update { $0[i, default: []].append(String(decoding: e.message.body, as: UTF8.self)) }
                }
                #expect(sub.queue == "workers")
            }
            let publisher = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            for n in 0..<300 { try await publisher.publish("jobs", message("job-\(n)")) }
            #expect(await K.eventually(within: .seconds(5)) { seen.value.values.map(\.count).reduce(0, +) >= 300 })
            try await Task.sleep(for: .milliseconds(200))
            let all = seen.value.values.flatMap { $0 }
            #expect(all.count == 300, "each message once: got \(all.count)")
            #expect(Set(all).count == 300)
            #expect(seen.value.keys.count >= 2, "the group shares the work: \(seen.value.mapValues(\.count))")
            for m in members { await m.shutdown() }
            await publisher.shutdown()
        }

        @Test func queueGroupAndBroadcastTogether() async throws {
            let server = try await NATSServerProcess()
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let queued = K.Box(0), broadcast = K.Box(0)
            _ = try await broker.subscribe("mixed", queue: "q") { _ in queued.update { $0 += 1 } }
            _ = try await broker.subscribe("mixed", queue: "q") { _ in queued.update { $0 += 1 } }
            _ = try await broker.subscribe("mixed", queue: nil) { _ in broadcast.update { $0 += 1 } }
            for n in 0..<50 { try await broker.publish("mixed", message("\(n)")) }
            #expect(await K.eventually { queued.value == 50 && broadcast.value == 50 }, "queued \(queued.value) broadcast \(broadcast.value)")
            await broker.shutdown()
        }

        @Test func unsubscribeStopsDeliveryAndEndsItsTask() async throws {
            let server = try await NATSServerProcess()
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let count = K.Box(0)
            let sub = try await broker.subscribe("u", queue: nil) { _ in count.update { $0 += 1 } }
            try await broker.publish("u", message("1"))
            #expect(await K.eventually { count.value == 1 })
            try await sub.unsubscribe()
            #expect(broker.subscriptionCount == 0)
            try await broker.publish("u", message("2"))
            try await Task.sleep(for: .milliseconds(150))
            #expect(count.value == 1)
            // Unsubscribing twice is harmless.
            try await sub.unsubscribe()
            await broker.shutdown()
        }

        @Test func unsubscribeFromInsideTheHandler() async throws {
            let server = try await NATSServerProcess()
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let holder = K.Box<(any BrokerSubscription)?>(nil)
            let count = K.Box(0)
            let sub = try await broker.subscribe("self", queue: nil) { _ in
                count.update { $0 += 1 }
                try await holder.value?.unsubscribe()
            }
            holder.update { $0 = sub }
            for n in 0..<5 { try await broker.publish("self", message("\(n)")) }
            #expect(await K.eventually { broker.subscriptionCount == 0 })
            try await Task.sleep(for: .milliseconds(100))
            #expect(count.value == 1)
            await broker.shutdown()
        }

        @Test func handlerErrorsAreLoggedAndDeliveryGoesOn() async throws {
            let server = try await NATSServerProcess()
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let count = K.Box(0)
            _ = try await broker.subscribe("flaky", queue: nil) { _ in
                let n = count.update { c -> Int in c += 1; return c }
                if n % 2 == 1 { throw MicroError.internalServerError("test", "odd") }
            }
            for n in 0..<10 { try await broker.publish("flaky", message("\(n)")) }
            #expect(await K.eventually { count.value == 10 })
            await broker.shutdown()
        }

        @Test func malformedPayloadsAreDroppedNotDelivered() async throws {
            let server = try await NATSServerProcess()
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let got = K.Box<[BrokerMessage]>([])
            _ = try await broker.subscribe("bad", queue: nil) { e in got.update { $0.append(e.message) } }
            let raw = try await K.connect(server)
            try await raw.publish("bad", payload: ByteBuffer(string: "not json"))
            try await raw.publish("bad", payload: ByteBuffer(string: "{\"Header\":{},\"Body\":\"%%%\"}"))
            try await raw.publish("bad", payload: ByteBuffer(string: "{\"Header\":{\"k\":\"v\"},\"Body\":\"aGk=\"}"))
            #expect(await K.eventually { got.value.count == 1 })
            #expect(got.value.first == BrokerMessage(header: ["k": "v"], body: Array("hi".utf8)))
            await raw.close()
            await broker.shutdown()
        }

        @Test func shutdownEndsSubscriptionsAndRefusesMore() async throws {
            let server = try await NATSServerProcess()
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let entered = K.Box(false), exited = K.Box(false)
            _ = try await broker.subscribe("slow", queue: nil) { _ in
                entered.update { $0 = true }
                defer { exited.update { $0 = true } }
                try await Task.sleep(for: .seconds(30))
            }
            try await broker.publish("slow", message("x"))
            #expect(await K.eventually { entered.value })
            let took = await K.elapsed { await broker.shutdown() }
            #expect(exited.value, "the running handler was cancelled and awaited")
            #expect(took < .seconds(3))
            #expect(broker.subscriptionCount == 0)
            let error = await K.caught { try await broker.publish("slow", message("y")) }
            #expect((error as? NATSBrokerError)?.code == .shutdown)
            let subError = await K.caught { _ = try await broker.subscribe("slow", queue: nil) { _ in } }
            #expect((subError as? NATSBrokerError)?.code == .shutdown)
        }

        @Test func messageLargerThanMaxPayloadIs413() async throws {
            let server = try await NATSServerProcess(arguments: try K.serverConfig("max_payload: 4096"))
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let error = await K.caught { try await broker.publish("big", BrokerMessage(body: Array(repeating: 7, count: 8000))) }
            #expect((error as? MicroError)?.code == 413, "got \(String(describing: error))")
            await broker.shutdown()
        }

        @Test func unreachableServerFailsPublish() async throws {
            let port = try freePort()
            var options = NATSOptions(servers: ["nats://127.0.0.1:\(port)"])
            options.connectTimeout = .milliseconds(500)
            let broker = NATSBroker(options: options, logger: K.logger)
            let error = await K.caught { try await broker.publish("t", BrokerMessage()) }
            #expect((error as? NATSError)?.code == .connectFailed, "got \(String(describing: error))")
            await broker.shutdown()
        }

        @Test func subscriptionsSurviveAServerRestart() async throws {
            let server = try await NATSServerProcess()
            let broker = NATSBroker(options: NATSOptions(servers: [server.url]), logger: K.logger)
            let got = K.Box<Set<String>>([])
            _ = try await broker.subscribe("restart", queue: "q") { e in got.update { _ = $0.insert(String(decoding: e.message.body, as: UTF8.self)) } }
            try await broker.publish("restart", message("before"))
            #expect(await K.eventually { got.value.contains("before") })
            server.stop()
            try await server.start()
            // The client reconnects and restores the subscription; publishes resume.
            let tries = K.Box(0)
            let delivered = await K.eventually(within: .seconds(10)) {
                tries.update { $0 += 1 }
                try? await broker.publish("restart", message("after"))
                return got.value.contains("after")
            }
            #expect(delivered, "no delivery after the restart (\(tries.value) tries)")
            await broker.shutdown()
        }
    }
}
