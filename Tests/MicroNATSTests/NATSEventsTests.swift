import EventsConformance
import Foundation
import Logging
import MicroCore
import MicroNATS
import MicroTestSupport
import NATSClient
import NIOCore
import Synchronization
import Testing

extension NATSSuite {
    /// The event stream and event store contracts on JetStream, and their faults: a server restarted
    /// under running consumers, a consumer killed with -9, messages that are not events, no server.
    @Suite struct NATSEventsTests {
        typealias K = NATSClientTestKit

        static let suite = EventsConformance(backend: "nats", stream: {
            let server = try await NATSServerProcess.sharedJetStream()
            return NATSEventStream(options: NATSOptions(servers: [server.url]), logger: NATSTestKit.logger)
        }, store: { retention in
            let server = try await NATSServerProcess.sharedJetStream()
            // A stream of its own per store: each check sets its own retention on it.
            let token = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
            var configuration = NATSEventsConfiguration.store
            configuration.streamName = "ES_\(token)"
            configuration.subjectPrefix = "es\(token)"
            return try NATSEventStore(options: NATSOptions(servers: [server.url]), configuration: configuration, retention: retention,
                                      logger: NATSTestKit.logger)
        })

        @Test(arguments: EventStreamCheck.all) func stream(_ check: EventStreamCheck) async throws {
            try await Self.suite.run(check)
        }

        @Test(arguments: EventStoreCheck.all) func store(_ check: EventStoreCheck) async throws {
            try await Self.suite.run(check)
        }

        /// Publishes `count` events with ids `e0`..., each retried (same id) until acknowledged or 60 s pass.
        static func publishAll(_ stream: NATSEventStream, topic: String, count: Int, acknowledged: Shared<Set<String>>,
                               every: Duration = .milliseconds(10)) async throws {
            for n in 0..<count {
                let id = "e\(n)"
                let deadline = ContinuousClock.now + .seconds(60)
                while true {
                    do {
                        try await stream.publish(topic, Array("payload \(n)".utf8), id: id)
                        acknowledged.withLock { _ = $0.insert(id) }
                        break
                    } catch let error as EventsError where error.code == .unavailable && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                try await Task.sleep(for: every)
            }
        }

        @Test(arguments: [false, true])
        func serverRestartedUnderRunningConsumersLosesNoAcknowledgedEvent(killed: Bool) async throws {
            let server = try await NATSServerProcess(jetStream: true)
            let options = K.options(server)
            var configuration = NATSEventsConfiguration()
            configuration.timeout = .seconds(2)
            let publisher = NATSEventStream(options: options, configuration: configuration, logger: NATSTestKit.logger)
            let consumers = NATSEventStream(options: options, configuration: configuration, logger: NATSTestKit.logger)
            let topic = "faults.restart"
            let count = 300
            let acknowledged = Shared<Set<String>>([])
            let consumed = Shared<[String: Int]>([:])
            let members = [try await consumers.consume(topic, options: ConsumeOptions(group: "g", start: .beginning, ackWait: .seconds(2))),
                           try await consumers.consume(topic, options: ConsumeOptions(group: "g", start: .beginning, ackWait: .seconds(2)))]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for member in members {
                    group.addTask {
                        for try await event in member {
                            consumed.withLock { $0[event.id, default: 0] += 1 }
                            try? await event.ack()
                        }
                    }
                }
                group.addTask {
                    try await Self.publishAll(publisher, topic: topic, count: count, acknowledged: acknowledged)
                }
                // Restart the server in the middle of the stream.
                try await K.eventually("a third published", within: .seconds(60)) { acknowledged.withLock { $0.count } >= count / 3 }
                let consumedBefore = consumed.withLock { $0.count }
                if killed { server.kill() } else { server.stop() }
                try await Task.sleep(for: .milliseconds(500))
                try await server.start()
                try await K.eventually("all published", within: .seconds(120)) { acknowledged.withLock { $0.count } == count }
                try await K.eventually("every acknowledged event consumed", within: .seconds(60)) {
                    let seen = Set(consumed.withLock { $0.keys })
                    return acknowledged.withLock { $0 }.isSubset(of: seen)
                }
                #expect(consumedBefore > 0 && consumedBefore < count, "the consumers were in the middle of the stream: \(consumedBefore) consumed")
                for member in members { await member.close() }
                try await group.waitForAll()
            }
            let seen = consumed.withLock { $0 }
            let lost = acknowledged.withLock { $0 }.subtracting(seen.keys)
            #expect(lost.isEmpty, "acknowledged and never consumed: \(lost.sorted())")
            #expect(Set(seen.keys).isSubset(of: Set((0..<count).map { "e\($0)" })), "nothing but the published events")
            await publisher.shutdown()
            await consumers.shutdown()
            server.stop()
        }

        @Test func aConsumerKilledWithSIGKILLHasItsEventsRedeliveredToTheGroup() async throws {
            let server = try await NATSServerProcess(jetStream: true)
            let stream = NATSEventStream(options: K.options(server), logger: NATSTestKit.logger)
            let topic = "faults.kill"
            for n in 0..<10 { try await stream.publish(topic, Array("\(n)".utf8), id: "k\(n)") }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("events-kill-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let output = dir.appendingPathComponent("received.txt")
            let child = try SpawnedProcess(try builtExecutable("EventConsumer"), [server.url, topic, "workers", "1500"], output: output,
                                           errors: dir.appendingPathComponent("errors.txt"))
            defer { if child.isRunning { child.kill() } }
            func received() -> [String] {
                ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            }
            try await K.eventually("the child received events", within: .seconds(30)) { received().count >= 3 }
            child.signal(SIGKILL)
            #expect(child.wait(timeout: .seconds(10)))
            #expect(child.terminationSignal == SIGKILL)
            let held = Set(received())
            // Another member of the group gets everything, the killed member's un-acked events included.
            let member = try await stream.consume(topic, options: ConsumeOptions(group: "workers", start: .beginning, ackWait: .milliseconds(1500)))
            var redelivered: [String: Int] = [:]
            let deadline = ContinuousClock.now + .seconds(30)
            var iterator = member.makeAsyncIterator()
            while redelivered.count < 10, ContinuousClock.now < deadline, let event = try await iterator.next() {
                redelivered[event.id] = event.deliveries
                try await event.ack()
            }
            #expect(Set(redelivered.keys) == Set((0..<10).map { "k\($0)" }), "the group got every event")
            for id in held {
                #expect((redelivered[id] ?? 0) >= 2, "\(id), held by the killed member, was delivered again")
            }
            await member.close()
            await stream.shutdown()
        }

        @Test func messagesThatAreNotEventsAreDroppedAndReportedAndTheConsumerGoesOn() async throws {
            let server = try await NATSServerProcess(jetStream: true)
            let stream = NATSEventStream(options: K.options(server), logger: NATSTestKit.logger)
            let topic = "bad.input"
            try await stream.publish(topic, Array("first".utf8), id: "first")
            let connection = try await K.connect(server)
            let js = JetStream(connection: connection)
            let subject = stream.configuration.subject(topic)
            let bad: [(NATSHeaders?, String)] = [
                (nil, "no headers"),
                (["Micro-Event-Id": "x"], "no time"),
                (["Micro-Event-Id": "x", "Micro-Event-Time": "soon"], "time not a number"),
                (["Micro-Event-Id": "x", "Micro-Event-Time": "1", "Micro-Event-Metadata": "[1,2]"], "metadata not an object"),
                (["Micro-Event-Id": "x", "Micro-Event-Time": "1", "Micro-Event-Metadata": "{\"a\":1}"], "metadata not strings"),
                (["Micro-Event-Time": "1"], "no id"),
            ]
            for (headers, what) in bad {
                try await js.publish(subject, payload: ByteBuffer(string: what), headers: headers)
            }
            try await stream.publish(topic, Array("last".utf8), id: "last")
            let reports = Shared<[EventsError]>([])
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "g", start: .beginning, onMalformed: { error in
                reports.withLock { $0.append(error) }
            }))
            var iterator = consumer.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.id == "first")
            try await first?.ack()
            let last = try await iterator.next()
            #expect(last?.id == "last", "the consumer went on past every bad message")
            try await last?.ack()
            let errors = reports.withLock { $0 }
            #expect(errors.count == bad.count)
            #expect(errors.allSatisfy { $0.code == .malformed }, "\(errors)")
            await consumer.close()

            // The event store's read of a topic holding such a message fails with malformed.
            let store = try NATSEventStore(options: K.options(server), logger: NATSTestKit.logger)
            try await store.write(Event(topic: topic, payload: [1], id: "ok"))
            #expect(try await store.read(topic).map(\.id) == ["ok"])
            try await js.publish(store.configuration.subject(topic), payload: ByteBuffer(string: "junk"), headers: nil)
            do {
                _ = try await store.read(topic)
                Issue.record("a read of a topic holding junk succeeded")
            } catch let error as EventsError {
                #expect(error.code == .malformed, "\(error)")
            }
            try await store.write(Event(topic: "bad.other", payload: [1], id: "fine"))
            #expect(try await store.read("bad.other").map(\.id) == ["fine"], "other topics read on")
            await store.shutdown()
            await stream.shutdown()
            await connection.close()
        }

        @Test func natsPyReadsAndWritesTheSameEvents() async throws {
            let python = try testPython()
            let server = try await NATSServerProcess(jetStream: true)
            let stream = NATSEventStream(options: K.options(server), logger: NATSTestKit.logger)
            let topic = "interop.orders"
            let first = try await stream.publish(topic, Array("from swift".utf8), metadata: ["kind": "order", "ü": "日本"], id: "sw-1")
            try await stream.publish(topic, Array("second".utf8), id: "sw-2")

            let read = try await NATSTestKit.run(python, [NATSTestKit.script("events_peer.py"), "consume", server.url, topic, "2"])
            #expect(read.status == 0, "python: \(read.stderr)")
            let seen = try #require(try JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as? [[String: Any]])
            #expect(seen.count == 2)
            let headers = try #require(seen.first?["headers"] as? [String: String])
            #expect(seen.first?["subject"] as? String == "micro.events.interop.orders")
            #expect(seen.first?["payload"] as? String == "from swift")
            #expect(headers["Micro-Event-Id"] == "sw-1")
            #expect(headers["Nats-Msg-Id"] == "interop.orders/sw-1")
            #expect(headers["Micro-Event-Metadata"] == #"{"kind":"order","ü":"日本"}"#)
            #expect(headers["Micro-Event-Time"].flatMap(Int64.init) != nil)

            let wrote = try await NATSTestKit.run(python, [NATSTestKit.script("events_peer.py"), "publish", server.url, topic])
            #expect(wrote.status == 0, "python: \(wrote.stderr)")
            let sequences = try #require(try JSONSerialization.jsonObject(with: Data(wrote.stdout.utf8)) as? [UInt64])
            let consumer = try await stream.consume(topic, options: ConsumeOptions(group: "swift", start: .sequence(first.sequence)))
            var iterator = consumer.makeAsyncIterator()
            var events: [Event] = []
            for _ in 0..<4 {
                let event = try #require(try await iterator.next())
                events.append(event)
                try await event.ack()
            }
            #expect(events.map(\.id) == ["sw-1", "sw-2", "py-1", "py-2"])
            #expect(events[0].metadata == ["kind": "order", "ü": "日本"])
            #expect(events[3].metadata == ["source": "python"] && events[3].text == "from python 2")
            #expect(events.suffix(2).map(\.sequence) == sequences)
            // nats-py's publish of an id Swift holds is a duplicate to Swift too.
            let again = try await stream.publish(topic, Array("x".utf8), id: "py-1")
            #expect(again.duplicate)
            await consumer.close()
            await stream.shutdown()
        }

        @Test func noServerIsUnavailableWithoutHanging() async throws {
            let address = "nats://127.0.0.1:\(try freePort())"
            var configuration = NATSEventsConfiguration()
            configuration.timeout = .seconds(1)
            let stream = NATSEventStream(addresses: address, configuration: configuration)
            let store = try NATSEventStore(addresses: address, configuration: configuration)
            let started = ContinuousClock.now
            await expectUnavailable { try await stream.publish("t", [1]) }
            await expectUnavailable { try await stream.consume("t", options: ConsumeOptions(group: "g")) }
            await expectUnavailable { try await store.write(Event(topic: "t", payload: [])) }
            await expectUnavailable { try await store.read("t") }
            #expect(ContinuousClock.now - started < .seconds(30), "every call failed within a bounded time")
            await stream.shutdown()
            await store.shutdown()
        }

        func expectUnavailable<T>(_ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation) async {
            do {
                let result = try await body()
                Issue.record("succeeded without a server: \(result)", sourceLocation: sourceLocation)
            } catch let error as EventsError {
                #expect(error.code == .unavailable, "\(error)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("not an EventsError: \(error)", sourceLocation: sourceLocation)
            }
        }

        @Test func microEventsNatsSelectsTheJetStreamEngines() async throws {
            let server = try await NATSServerProcess.sharedJetStream()
            let environment = MicroEnvironment(["MICRO_EVENTS": "nats", "MICRO_EVENTS_ADDRESS": server.url,
                                                "MICRO_EVENT_STORE": "nats", "MICRO_EVENT_STORE_ADDRESS": server.url])
            let engines = Engines([.inProcess, .nats])
            let stream = try engines.makeEventStream(EngineContext(environment: environment))
            let store = try engines.makeEventStore(EngineContext(environment: environment))
            #expect(stream is NATSEventStream)
            #expect(store is NATSEventStore)
            let topic = "env.\(UUID().uuidString.prefix(8))"
            let receipt = try await stream.publish(topic, [1])
            #expect(receipt.sequence > 0)
            try await store.write(Event(topic: topic, payload: [2], id: "x"))
            #expect(try await store.read(topic).map(\.id) == ["x"])
            await stream.shutdown()
            await store.shutdown()
            #expect(throws: ConfigurationError.self) {
                try Engines([.inProcess]).makeEventStream(EngineContext(environment: MicroEnvironment(["MICRO_EVENTS": "kafka"])))
            }
        }
    }
}

/// A value several tasks share, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
