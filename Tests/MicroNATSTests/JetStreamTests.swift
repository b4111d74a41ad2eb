import Foundation
import NIOCore
import Testing

@testable import NATSClient

private typealias Kit = NATSClientTestKit

extension NATSSuite {
    /// The JetStream API against a real `nats-server -js`: streams, publish acknowledgements and their
    /// checks, message gets, pull and ordered consumers, and answers that are not what the API promises.
    @Suite struct JetStreamTests {
        @Test func streamLifecycleAndPublishChecks() async throws {
            let (server, connection, js) = try await Kit.jetStream()
            _ = server
            let config = JetStream.StreamConfiguration(name: "ORDERS", subjects: ["orders.>"], maxMessagesPerSubject: 10, allowDirect: true)
            let created = try await js.createStream(config)
            #expect(created.configuration.name == "ORDERS")
            #expect(created.configuration.subjects == ["orders.>"])
            #expect(created.configuration.allowDirect)
            #expect(created.state.messages == 0)
            #expect(try await js.createStream(config).configuration.name == "ORDERS", "an identical create is no error")
            var changed = config
            changed.maxMessagesPerSubject = 3
            await #expect(throws: JetStreamError.self) { try await js.createStream(changed) }
            do {
                _ = try await js.createStream(changed)
            } catch let error as JetStreamError {
                #expect(error.code == .api)
                #expect(error.errorCode == .streamNameExists)
            }
            changed.description = "orders of the shop"
            #expect(try await js.updateStream(changed).configuration.description == "orders of the shop")

            var headers = NATSHeaders()
            headers["X-Trace"] = "t-1"
            let first = try await js.publish("orders.new", bytes: Array("one".utf8), headers: headers, options: .init(messageID: "m-1"))
            #expect(first.stream == "ORDERS")
            #expect(first.sequence == 1)
            #expect(!first.duplicate)
            let again = try await js.publish("orders.new", bytes: Array("one again".utf8), options: .init(messageID: "m-1"))
            #expect(again.duplicate, "the same message id within the duplicate window is not stored again")
            #expect(again.sequence == 1)
            let second = try await js.publish("orders.paid", bytes: Array("two".utf8), options: .init(expectedLastSequence: 1))
            #expect(second.sequence == 2)
            do {
                try await js.publish("orders.paid", bytes: [1], options: .init(expectedLastSequence: 1))
                Issue.record("a stale expected last sequence was accepted")
            } catch let error as JetStreamError {
                #expect(error.isWrongLastSequence, "\(error)")
                #expect(error.api?.code == 400)
            }
            let third = try await js.publish("orders.paid", bytes: Array("three".utf8), options: .init(expectedLastSubjectSequence: 2))
            #expect(third.sequence == 3)
            do {
                try await js.publish("orders.paid", bytes: [1], options: .init(expectedLastSubjectSequence: 2))
                Issue.record("a stale expected last subject sequence was accepted")
            } catch let error as JetStreamError {
                #expect(error.isWrongLastSequence, "\(error)")
            }
            do {
                try await js.publish("orders.fresh", bytes: [1], options: .init(expectedLastSubjectSequence: 0))
                try await js.publish("orders.fresh", bytes: [2], options: .init(expectedLastSubjectSequence: 0))
                Issue.record("expected subject sequence 0 accepted a second message")
            } catch let error as JetStreamError {
                #expect(error.isWrongLastSequence, "\(error)")
            }
            await #expect(throws: JetStreamError.self) { try await js.publish("nostream.here", bytes: [1]) }
            do {
                try await js.publish("nostream.here", bytes: [1])
            } catch let error as JetStreamError {
                #expect(error.code == .noResponders)
            }

            for direct in [false, true] {
                let bySequence = try #require(try await js.message(stream: "ORDERS", .sequence(1), direct: direct))
                #expect(bySequence.subject == "orders.new")
                #expect(String(buffer: bySequence.payload) == "one")
                #expect(bySequence.headers?["X-Trace"] == "t-1")
                #expect(bySequence.headers?[JetStreamHeader.messageID] == "m-1")
                #expect(bySequence.time.map { abs($0.timeIntervalSinceNow) < 60 } == true, "stored time \(String(describing: bySequence.time))")
                let last = try #require(try await js.message(stream: "ORDERS", .lastBySubject("orders.paid"), direct: direct))
                #expect(last.sequence == 3)
                #expect(String(buffer: last.payload) == "three")
                #expect(last.headers == nil || last.headers?[JetStreamHeader.stream] == nil)
                let next = try #require(try await js.message(stream: "ORDERS", .nextBySubject("orders.paid", from: 1), direct: direct))
                #expect(next.sequence == 2)
                #expect(try await js.message(stream: "ORDERS", .lastBySubject("orders.none"), direct: direct) == nil)
                #expect(try await js.message(stream: "ORDERS", .sequence(999), direct: direct) == nil)
            }
            await #expect(throws: JetStreamError.self) { try await js.message(stream: "NOPE", .sequence(1)) }

            var info = try #require(try await js.streamInfo("ORDERS"))
            #expect(info.state.messages == 4)
            #expect(info.state.lastSequence == 4)
            #expect(try await js.purgeStream("ORDERS", filter: "orders.paid") == 2)
            info = try #require(try await js.streamInfo("ORDERS"))
            #expect(info.state.messages == 2)
            #expect(try await js.message(stream: "ORDERS", .lastBySubject("orders.paid")) == nil)
            #expect(try await js.deleteMessage(stream: "ORDERS", sequence: 1))
            #expect(try await js.message(stream: "ORDERS", .sequence(1)) == nil)

            try await js.createStream(JetStream.StreamConfiguration(name: "OTHER", subjects: ["other.*"], storage: .memory))
            #expect(try await js.streamNames().sorted() == ["ORDERS", "OTHER"])
            #expect(try await js.streamNames(subject: "orders.x") == ["ORDERS"])
            #expect(try await js.deleteStream("ORDERS"))
            #expect(try await js.deleteStream("ORDERS") == false)
            #expect(try await js.streamInfo("ORDERS") == nil)
            do {
                try await js.purgeStream("ORDERS")
                Issue.record("purge of a missing stream succeeded")
            } catch let error as JetStreamError {
                #expect(error.isStreamNotFound)
                #expect(error.api?.code == 404)
            }
            await #expect(throws: JetStreamError.self) { try await js.createStream(.init(name: "bad.name", subjects: ["x"])) }
            await connection.close()
        }

        @Test func pullConsumerFetchAckNakAndRedelivery() async throws {
            let (server, connection, js) = try await Kit.jetStream()
            _ = server
            try await js.createStream(JetStream.StreamConfiguration(name: "JOBS", subjects: ["jobs.*"]))
            for n in 1...4 { try await js.publish("jobs.run", bytes: Array("job \(n)".utf8)) }
            let info = try await js.createConsumer(stream: "JOBS", JetStream.ConsumerConfiguration(
                durableName: "workers", ackPolicy: .explicit, ackWait: .milliseconds(500), maxDeliver: 5))
            #expect(info.name == "workers")
            #expect(info.pending == 4)

            var batch = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 2, expires: .seconds(2))
            #expect(batch.map { String(buffer: $0.payload) } == ["job 1", "job 2"])
            #expect(batch.map(\.metadata.streamSequence) == [1, 2])
            #expect(batch.map(\.metadata.consumerSequence) == [1, 2])
            #expect(batch.allSatisfy { $0.metadata.stream == "JOBS" && $0.metadata.consumer == "workers" && $0.metadata.delivered == 1 })
            #expect(batch.first?.metadata.pending == 3)
            try await batch[0].ackSync()
            try await batch[1].nak(confirm: true)
            batch = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 1, expires: .seconds(2))
            #expect(batch.map(\.metadata.streamSequence) == [2], "a nak'ed message comes again first")
            #expect(batch.first?.metadata.delivered == 2)
            try await batch[0].term(confirm: true)

            // Not acknowledged within the ack wait: delivered again.
            batch = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 1, expires: .seconds(2))
            #expect(batch.map(\.metadata.streamSequence) == [3])
            try await Task.sleep(for: .milliseconds(800))
            batch = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 1, expires: .seconds(3))
            #expect(batch.map(\.metadata.streamSequence) == [3], "redelivered after the ack wait")
            #expect(batch.first?.metadata.delivered == 2)
            try await batch[0].inProgress(confirm: true)
            try await batch[0].ackSync()

            // A delayed nak: not before the delay.
            batch = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 1, expires: .seconds(2))
            #expect(batch.map(\.metadata.streamSequence) == [4])
            try await batch[0].nak(delay: .seconds(30), confirm: true)
            let none = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 1, expires: .milliseconds(300))
            #expect(none.isEmpty, "a message nak'ed with a delay is not delivered at once")
            let nothingNow = try await js.fetch(stream: "JOBS", consumer: "workers", batch: 5, noWait: true)
            #expect(nothingNow.isEmpty)

            let after = try #require(try await js.consumerInfo(stream: "JOBS", name: "workers"))
            #expect(after.ackFloor.streamSequence >= 3)
            #expect(after.ackPending == 1)
            #expect(try await js.deleteConsumer(stream: "JOBS", name: "workers"))
            #expect(try await js.consumerInfo(stream: "JOBS", name: "workers") == nil)

            let ephemeral = try await js.createConsumer(stream: "JOBS", JetStream.ConsumerConfiguration(ackPolicy: .explicit, inactiveThreshold: .seconds(30)))
            #expect(!ephemeral.name.isEmpty)
            #expect(try await js.fetch(stream: "JOBS", consumer: ephemeral.name, batch: 10, expires: .seconds(1)).count == 4)
            await connection.close()
        }

        @Test func orderedConsumerDeliversInOrderThenNewMessages() async throws {
            let (server, connection, js) = try await Kit.jetStream()
            _ = server
            try await js.createStream(JetStream.StreamConfiguration(name: "LOG", subjects: ["log.>"]))
            for n in 1...50 { try await js.publish("log.\(n % 3)", bytes: Array("\(n)".utf8)) }
            let consumer = try await js.orderedConsumer(stream: "LOG", .init(filterSubject: "log.>", idleHeartbeat: .milliseconds(500)))
            #expect(consumer.pendingAtStart == 50)
            var iterator = consumer.makeAsyncIterator()
            for n in 1...50 {
                let message = try #require(try await iterator.next())
                #expect(message.metadata.streamSequence == UInt64(n))
                #expect(String(buffer: message.payload) == "\(n)")
            }
            try await js.publish("log.new", bytes: Array("51".utf8))
            let later = try #require(try await iterator.next())
            #expect(later.metadata.streamSequence == 51)
            #expect(later.subject == "log.new")
            #expect(consumer.resets == 0)
            await consumer.stop()
            #expect(try await iterator.next() == nil)
            await connection.close()
        }

        @Test func orderedConsumerReplacesALostConsumerOrEndsWhenToldNotTo() async throws {
            let (server, connection, js) = try await Kit.jetStream()
            _ = server
            try await js.createStream(JetStream.StreamConfiguration(name: "FEED", subjects: ["feed"]))
            for n in 1...3 { try await js.publish("feed", bytes: [UInt8(n)]) }
            let consumer = try await js.orderedConsumer(stream: "FEED", .init(idleHeartbeat: .milliseconds(200)))
            var iterator = consumer.makeAsyncIterator()
            for n in 1...2 { #expect(try await iterator.next()?.metadata.streamSequence == UInt64(n)) }
            // Deleted from outside: the server says so (409) or falls silent; a new consumer resumes after sequence 2.
            let first = try #require(consumer.consumerName)
            #expect(try await js.deleteConsumer(stream: "FEED", name: first))
            try await js.publish("feed", bytes: [4])
            var rest: [UInt64] = []
            while rest.count < 2, let message = try await iterator.next() { rest.append(message.metadata.streamSequence) }
            #expect(rest == [3, 4], "no message lost or repeated across the replacement")
            #expect(consumer.resets >= 1)
            #expect(consumer.consumerName != first)
            await consumer.stop()

            let strict = try await js.orderedConsumer(stream: "FEED", .init(idleHeartbeat: .milliseconds(200), recreate: false))
            var strictIterator = strict.makeAsyncIterator()
            #expect(try await strictIterator.next()?.metadata.streamSequence == 1)
            #expect(try await js.deleteConsumer(stream: "FEED", name: try #require(strict.consumerName)))
            do {
                while try await strictIterator.next() != nil {}
                Issue.record("the sequence ended without an error")
            } catch let error as JetStreamError {
                #expect(error.code == .consumerReset)
            }
            await connection.close()
        }

        @Test func ackSubjectMetadataParsesBothFormsAndRejectsOthers() throws {
            let v1 = try JetStreamMessageMetadata(replySubject: "$JS.ACK.ORDERS.workers.2.1042.17.1700000000123456789.5")
            #expect(v1.stream == "ORDERS")
            #expect(v1.consumer == "workers")
            #expect(v1.delivered == 2)
            #expect(v1.streamSequence == 1042)
            #expect(v1.consumerSequence == 17)
            #expect(v1.timestampNanoseconds == 1_700_000_000_123_456_789)
            #expect(v1.pending == 5)
            #expect(v1.domain == nil && v1.accountHash == nil)
            #expect(abs(v1.timestamp.timeIntervalSince1970 - 1_700_000_000.123) < 0.001)
            let v2 = try JetStreamMessageMetadata(replySubject: "$JS.ACK.hub.ACCHASH.ORDERS.workers.1.9.8.1700000000000000000.0.r4nd0m")
            #expect(v2.domain == "hub")
            #expect(v2.accountHash == "ACCHASH")
            #expect(v2.stream == "ORDERS")
            #expect(v2.streamSequence == 9)
            #expect(v2.consumerSequence == 8)
            let noDomain = try JetStreamMessageMetadata(replySubject: "$JS.ACK._.ACCHASH.S.C.1.2.3.4.5")
            #expect(noDomain.domain == nil)
            #expect(noDomain.pending == 5)
            let bad = [
                "", "$JS.ACK", "$JS.ACK.S.C.1.2.3.4", "$JS.ACK.S.C.1.2.3.4.5.6", "$JS.NAK.S.C.1.2.3.4.5", "JS.ACK.S.C.1.2.3.4.5",
                "$JS.ACK.S.C.x.2.3.4.5", "$JS.ACK.S.C.1.-2.3.4.5", "$JS.ACK.S.C.1.2.3.4.99999999999999999999999",
                "$JS.ACK.S..1.2.3.4.5", "$JS.ACK.S.C.1.2.3.4.", "$JS.ACK.S.C.0.2.3.4.5", "$JS.ACK.S.C.1.0.3.4.5",
                "$JS.ACK.S.C.1.2.3.18446744073709551615.5", "$JS.ACK.S.C.1.2.3.+4.5", "$JS.ACK.a.b.S.C.1.2.3.4.5.6.7",
                "$JS.ACK.S.C.1.2.3.4.5" + String(repeating: "9", count: 2000),
            ]
            for subject in bad {
                #expect(throws: JetStreamError.self, "\(subject.prefix(60).debugDescription)") { try JetStreamMessageMetadata(replySubject: subject) }
            }
        }

        @Test func answersThatAreNotTheAPIAreTypedErrors() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            // A fake JetStream on another prefix, answering what the operation's last token asks for.
            let responder = try connection.subscribe("fake.API.>") { message in
                guard let reply = message.replyTo else { return }
                let answer: String
                switch message.subject.split(separator: ".").last ?? "" {
                case "garbage": answer = "not json {"
                case "array": answer = "[1,2,3]"
                case "error": answer = #"{"error":{"code":404,"err_code":10059,"description":"stream not found"}}"#
                case "odd": answer = #"{"error":{"code":500,"err_code":12345,"description":"something new"}}"#
                case "wrongshape": answer = #"{"config":{"subjects":7},"state":{}}"#
                case "huge": answer = "{\"x\":\"" + String(repeating: "a", count: 5000) + "\"}"
                case "zero": answer = #"{"stream":"S","seq":0}"#
                default: answer = "{}"
                }
                try? connection.tryPublish(reply, payload: ByteBuffer(string: answer))
            }
            try await connection.flush()
            let js = JetStream(connection: connection, options: JetStreamOptions(apiPrefix: "fake.API", timeout: .seconds(2), maxResponseBytes: 2048))
            func code(_ body: () async throws -> Void) async -> JetStreamError? {
                do { try await body() } catch let error as JetStreamError { return error } catch { Issue.record("not a JetStreamError: \(error)") }
                return nil
            }
            #expect(await code { _ = try await js.streamInfo("garbage") }?.code == .invalidResponse)
            #expect(await code { _ = try await js.streamInfo("array") }?.code == .invalidResponse)
            #expect(await code { _ = try await js.streamInfo("wrongshape") }?.code == .invalidResponse)
            #expect(await code { _ = try await js.streamInfo("huge") }?.code == .invalidResponse)
            #expect(try await js.streamInfo("error") == nil, "10059 on info is a missing stream")
            let odd = await code { _ = try await js.streamInfo("odd") }
            #expect(odd?.code == .api)
            #expect(odd?.errorCode?.rawValue == 12345)
            #expect(odd?.api?.code == 500)
            #expect(await code { _ = try await js.purgeStream("error") }?.isStreamNotFound == true)
            #expect(await code { _ = try await js.streamInfo("silent.x") }?.code == .invalidArgument, "a name with a dot is refused before sending")
            // A publish "acknowledged" by something that is not a stream.
            let fakeAck = try connection.subscribe("fake.stream.>") { message in
                if let reply = message.replyTo { try? connection.tryPublish(reply, payload: ByteBuffer(string: #"{"stream":"S","seq":0}"#)) }
            }
            try await connection.flush()
            #expect(await code { try await js.publish("fake.stream.x", bytes: [1]) }?.code == .invalidResponse)
            try fakeAck.unsubscribe()
            try responder.unsubscribe()
            // No JetStream at all on this server.
            let real = JetStream(connection: connection, options: JetStreamOptions(timeout: .seconds(2)))
            let missing = await code { _ = try await real.streamNames() }
            #expect(missing?.code == .noResponders, "\(String(describing: missing))")
            #expect(JetStreamJSON.date(rfc3339: "2024-02-29T23:59:58.123456789Z").map { Int($0.timeIntervalSince1970) } == 1_709_251_198)
            #expect(JetStreamJSON.date(rfc3339: "2024-02-29T23:59:58+01:00").map { Int($0.timeIntervalSince1970) } == 1_709_247_598)
            for text in ["", "0001-01-01T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00"] {
                #expect(JetStreamJSON.date(rfc3339: text) == nil, "\(text)")
            }
            await connection.close()
        }
    }
}
