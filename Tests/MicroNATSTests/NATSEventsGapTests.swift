import EventsConformance
import Foundation
import MicroCore
import MicroNATS
import MicroTestSupport
import NATSClient
import NIOCore
import Testing

extension NATSSuite {
    /// JetStream events beyond the contract: a member killed while it holds the delivery past the last
    /// one still gets the event dead-lettered; reads with a start time start at it; duplicates are
    /// caught only within the configurable window.
    @Suite struct NATSEventsGapTests {
        typealias K = NATSClientTestKit

        @Test func aMemberKilledHoldingTheDeliveryPastTheLastLeavesTheEventToBeDeadLettered() async throws {
            let server = try await NATSServerProcess(jetStream: true)
            let stream = NATSEventStream(options: K.options(server), logger: NATSTestKit.logger)
            let topic = "faults.dead"
            let options = ConsumeOptions(group: "workers", start: .beginning, ackWait: .seconds(1), maxDeliveries: 1)
            let dead = try await stream.consume(topic + ".dead", options: ConsumeOptions(group: "letters", start: .beginning))
            // The one allowed delivery, not acknowledged: its ack wait passes.
            let first = try await stream.consume(topic, options: options)
            try await stream.publish(topic, Array("job".utf8), id: "job-1")
            let delivered = try #require(try await first.next(within: .seconds(10)), "the first delivery")
            #expect(delivered.deliveries == 1)
            await first.close()

            // A member in another process takes the next delivery — the one only carried to the dead
            // letters — and is killed with -9 before it does anything with it.
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("events-dead-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let output = dir.appendingPathComponent("fetched.txt")
            let child = try SpawnedProcess(try builtExecutable("EventConsumer"), [server.url, topic, "workers", "1000", "fetch-one"],
                                           output: output, errors: dir.appendingPathComponent("errors.txt"))
            defer { if child.isRunning { child.kill() } }
            func fetched() -> String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
            try await K.eventually("the child holds the extra delivery", within: .seconds(20)) { fetched().hasPrefix("delivered 2 ") }
            child.signal(SIGKILL)
            #expect(child.wait(timeout: .seconds(10)))

            // JetStream delivers it again after the ack wait; a member dead-letters it.
            let second = try await stream.consume(topic, options: options)
            async let nothing = second.next(within: .seconds(4))
            let letter = try #require(try await dead.next(within: .seconds(15)), "the event reached the dead-letter topic")
            #expect(letter.metadata[Event.deadLetterTopicKey] == topic && letter.metadata[Event.deadLetterGroupKey] == "workers",
                    "\(letter.metadata)")
            #expect(letter.text == "job")
            #expect(try await nothing == nil, "the member hands out nothing: the event only went to the dead letters")
            try await letter.ack()
            await second.close()
            await dead.close()
            await stream.shutdown()
            server.stop()
        }

        @Test func aReadWithAStartTimeStartsTheJetStreamConsumerThere() async throws {
            let server = try await NATSServerProcess(jetStream: true)
            var configuration = NATSEventsConfiguration.store
            configuration.clockSkew = .milliseconds(100)
            let store = try NATSEventStore(options: K.options(server), configuration: configuration, logger: NATSTestKit.logger)
            let topic = "series.start"
            try await store.write(Event(topic: topic, payload: Array("before".utf8), id: "before"))
            // A message that is not an event: a read that goes through it fails as malformed.
            let connection = try await K.connect(server)
            try await JetStream(connection: connection).publish(configuration.subject(topic), payload: ByteBuffer(string: "not an event"))
            try await Task.sleep(for: .milliseconds(400))
            let start = Date()
            try await store.write(Event(topic: topic, payload: Array("after".utf8), id: "after", timestamp: start))
            let read = try await store.read(topic, EventQuery(from: start))
            #expect(read.map(\.id) == ["after"], "the read started after the message that is not an event")
            await #expect(throws: EventsError.self, "a read of the whole topic meets it") { try await store.read(topic, EventQuery()) }
            await connection.close()
            await store.shutdown()
            server.stop()
        }

        @Test func duplicatesAreCaughtWithinTheConfiguredWindowOnly() async throws {
            let server = try await NATSServerProcess(jetStream: true)
            var configuration = NATSEventsConfiguration.store
            configuration.duplicateWindow = .seconds(1)
            let store = try NATSEventStore(options: K.options(server), configuration: configuration, logger: NATSTestKit.logger)
            let topic = "series.dedupe"
            #expect(try await !store.write(Event(topic: topic, payload: [1], id: "same")).duplicate)
            #expect(try await store.write(Event(topic: topic, payload: [2], id: "same")).duplicate, "within the window")
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await !store.write(Event(topic: topic, payload: [3], id: "same")).duplicate, "after the window it is stored again")
            #expect(try await store.read(topic, EventQuery()).map(\.payload) == [[1], [3]])
            await store.shutdown()

            // The window from the environment, as the engine factory reads it.
            let chosen = try NATSEventsConfiguration.store.duplicateWindow(from: MicroEnvironment(["MICRO_EVENT_STORE_DUPLICATE_WINDOW": "600"]),
                                                                           variable: "MICRO_EVENT_STORE_DUPLICATE_WINDOW")
            #expect(chosen.duplicateWindow == .seconds(600))
            for bad in ["0", "-1", "ten", "86401", "nan"] {
                #expect(throws: ConfigurationError.self) {
                    try NATSEventsConfiguration.store.duplicateWindow(from: MicroEnvironment(["MICRO_EVENT_STORE_DUPLICATE_WINDOW": bad]),
                                                                      variable: "MICRO_EVENT_STORE_DUPLICATE_WINDOW")
                }
            }
            server.stop()
        }
    }
}

