import Foundation
import MicroNATS
import NIOCore
import Testing

@testable import MicroNATS
@testable import NATSClient

private typealias Kit = NATSClientTestKit

extension NATSSuite {
    /// The NATS client against a real nats-server: publish/subscribe, headers, queues, requests, limits.
    @Suite struct NATSClientTests {
        @Test func publishSubscribeRoundTrip() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server) { $0.name = "roundtrip" }
            let subscription = try connection.subscribe("greet.*")
            try await connection.flush()
            #expect(connection.serverInfo.headers)
            #expect(connection.serverInfo.maxPayload > 0)
            #expect(connection.status == .connected)
            for i in 0..<10 {
                try await connection.publish("greet.\(i)", payload: Kit.payload("hello \(i)"), replyTo: i % 2 == 0 ? "answers" : nil)
            }
            try await connection.publish("other", payload: Kit.payload("not for us"))
            let messages = await Kit.collect(subscription, count: 10)
            #expect(messages.count == 10)
            for (i, message) in messages.enumerated() {
                #expect(message.subject == "greet.\(i)")
                #expect(String(buffer: message.payload) == "hello \(i)")
                #expect(message.replyTo == (i % 2 == 0 ? "answers" : nil))
                #expect(message.headers == nil)
                #expect(message.status == nil)
            }
            let stats = connection.statistics
            #expect(stats.outMsgs == 11)
            #expect(stats.inMsgs == 10)
            #expect(stats.inBytes == messages.reduce(0) { $0 + $1.payload.readableBytes })
            await connection.close()
        }

        @Test func headersRoundTrip() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let subscription = try connection.subscribe("with.headers")
            try await connection.flush()
            var headers = NATSHeaders()
            headers.add("Micro-Id", "42")
            headers.add("X-Multi", "first")
            headers.add("X-Multi", "second")
            headers["Content-Type"] = "application/json"
            try await connection.publish("with.headers", payload: Kit.payload("{}"), headers: headers, replyTo: "r.1")
            try await connection.publish("with.headers", payload: Kit.payload("empty"), headers: NATSHeaders())
            let messages = await Kit.collect(subscription, count: 2)
            #expect(messages.count == 2)
            let first = try #require(messages.first)
            #expect(String(buffer: first.payload) == "{}")
            #expect(first.replyTo == "r.1")
            #expect(first.headers == headers)
            #expect(first.headers?["micro-id"] == "42")
            #expect(first.headers?.values(for: "X-Multi") == ["first", "second"])
            #expect(first.headers?.map(\.name) == ["Micro-Id", "X-Multi", "X-Multi", "Content-Type"])
            let second = try #require(messages.last)
            #expect(second.headers?.isEmpty == true)
            #expect(String(buffer: second.payload) == "empty")
            var bad = NATSHeaders()
            bad.add("Bad:Name", "x")
            await #expect(throws: NATSError.self) { try await connection.publish("with.headers", payload: Kit.payload(""), headers: bad) }
            await connection.close()
        }

        @Test func queueGroupDeliversEachMessageOnce() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let members = try (0..<3).map { _ in try connection.subscribe("jobs", queue: "workers") }
            let observer = try connection.subscribe("jobs")
            try await connection.flush()
            for i in 0..<300 { try await connection.publish("jobs", payload: Kit.payload("\(i)")) }
            try await connection.flush()
            let all = await Kit.collect(observer, count: 300)
            #expect(all.count == 300)
            var seen: [Int: Int] = [:]
            var perMember: [Int] = []
            for member in members {
                let pending = member.pendingMessages
                let got = await Kit.collect(member, count: pending, within: .seconds(2))
                perMember.append(got.count)
                for message in got { seen[Int(String(buffer: message.payload))!, default: 0] += 1 }
            }
            #expect(perMember.reduce(0, +) == 300, "per member: \(perMember)")
            #expect(perMember.allSatisfy { $0 > 0 }, "per member: \(perMember)")
            #expect(seen.count == 300)
            #expect(seen.values.allSatisfy { $0 == 1 })
            await connection.close()
        }

        @Test func unsubscribeEndsTheSequence() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let subscription = try connection.subscribe("u.now")
            try await connection.flush()
            try await connection.publish("u.now", payload: Kit.payload("1"))
            try await connection.flush()
            try subscription.unsubscribe()
            try await connection.publish("u.now", payload: Kit.payload("2"))
            try await connection.flush()
            let messages = await Kit.collect(subscription, count: 10, within: .seconds(2))
            #expect(messages.map { String(buffer: $0.payload) } == ["1"])
            try subscription.unsubscribe() // a second time is harmless

            let limited = try connection.subscribe("u.after")
            try limited.unsubscribe(after: 3)
            try await connection.flush()
            for i in 0..<10 { try await connection.publish("u.after", payload: Kit.payload("\(i)")) }
            try await connection.flush()
            let three = await Kit.collect(limited, count: 10, within: .seconds(2))
            #expect(three.map { String(buffer: $0.payload) } == ["0", "1", "2"])

            // A limit below what was already received ends it at once.
            let late = try connection.subscribe("u.late")
            try await connection.flush()
            for i in 0..<4 { try await connection.publish("u.late", payload: Kit.payload("\(i)")) }
            try await connection.flush()
            try late.unsubscribe(after: 2)
            let four = await Kit.collect(late, count: 10, within: .seconds(2))
            #expect(four.count == 4)
            await connection.close()
        }

        @Test func requestReply() async throws {
            let server = try await NATSServerProcess()
            let responderConnection = try await Kit.connect(server)
            let connection = try await Kit.connect(server)
            let service = try responderConnection.subscribe("echo")
            try await responderConnection.flush()
            let responder = Task {
                for await message in service {
                    guard let replyTo = message.replyTo else { continue }
                    var headers = NATSHeaders()
                    headers["Echo-Of"] = message.headers?["Id"] ?? "-"
                    try? await responderConnection.publish(replyTo, payload: Kit.payload("re: " + String(buffer: message.payload)), headers: headers)
                }
            }
            for i in 0..<5 {
                let answer = try await connection.request("echo", payload: Kit.payload("ping \(i)"), headers: ["Id": "\(i)"], timeout: .seconds(2))
                #expect(String(buffer: answer.payload) == "re: ping \(i)")
                #expect(answer.headers?["Echo-Of"] == "\(i)")
            }
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let answer = try await connection.request("echo", payload: Kit.payload("c\(i)"), timeout: .seconds(3))
                        return (i, String(buffer: answer.payload))
                    }
                }
                var answered = 0
                for try await (i, text) in group {
                    #expect(text == "re: c\(i)")
                    answered += 1
                }
                #expect(answered == 50)
            }
            await connection.close()
            await responderConnection.close()
            await responder.value
        }

        @Test func requestWithoutRespondersFailsFast() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let start = ContinuousClock.now
            let error = await #expect(throws: NATSError.self) {
                _ = try await connection.request("nobody.home", payload: Kit.payload("?"), timeout: .seconds(5))
            }
            #expect(error?.code == .noResponders)
            #expect(ContinuousClock.now - start < .seconds(1))
            await connection.close()
        }

        @Test func requestTimesOut() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let silent = try connection.subscribe("silent")
            try await connection.flush()
            let start = ContinuousClock.now
            let error = await #expect(throws: NATSError.self) {
                _ = try await connection.request("silent", payload: Kit.payload("?"), timeout: .milliseconds(300))
            }
            let elapsed = ContinuousClock.now - start
            #expect(error?.code == .timeout)
            #expect(elapsed >= .milliseconds(290))
            #expect(elapsed < .seconds(2))
            #expect(silent.pendingMessages == 1)
            await connection.close()
        }

        @Test func cancelledRequestThrows() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let silent = try connection.subscribe("silent.cancel")
            try await connection.flush()
            let task = Task { try await connection.request("silent.cancel", payload: Kit.payload("?"), timeout: .seconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
            let start = ContinuousClock.now
            await #expect(throws: CancellationError.self) { _ = try await task.value }
            #expect(ContinuousClock.now - start < .seconds(1))
            _ = silent
            await connection.close()
        }

        @Test func invalidInputIsRefused() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            for subject in ["", "has space", "tab\there", "line\r\nbreak"] {
                let error = await #expect(throws: NATSError.self) { try await connection.publish(subject, payload: Kit.payload("x")) }
                #expect(error?.code == .badSubject)
            }
            for subject in ["a..b", ".a", "a.", ""] {
                let error = #expect(throws: NATSError.self) { _ = try connection.subscribe(subject) }
                #expect(error?.code == .badSubject)
            }
            #expect(throws: NATSError.self) { _ = try connection.subscribe("ok", queue: "bad queue") }
            let tooBig = ByteBuffer(repeating: 0x61, count: connection.serverInfo.maxPayload + 1)
            let error = await #expect(throws: NATSError.self) { try await connection.publish("big", payload: tooBig) }
            #expect(error?.code == .maxPayloadExceeded)
            // The connection is still fine.
            try await connection.flush()
            await connection.close()
        }

        @Test func connectToNothingFails() async throws {
            let port = try freePort()
            var options = NATSOptions(servers: ["nats://127.0.0.1:\(port)", "127.0.0.1:\(port)"])
            options.connectTimeout = .seconds(1)
            let start = ContinuousClock.now
            let error = await #expect(throws: NATSError.self) { _ = try await NATSConnection.connect(options) }
            #expect(error?.code == .connectFailed)
            #expect(ContinuousClock.now - start < .seconds(3))
            await #expect(throws: NATSError.self) { _ = try await NATSConnection.connect(NATSOptions(servers: ["http://x:1"])) }
            await #expect(throws: NATSError.self) { _ = try await NATSConnection.connect(NATSOptions(servers: [])) }
        }

        @Test func slowConsumerDropsAndCounts() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server) { $0.pendingMessagesLimit = 10 }
            let subscription = try connection.subscribe("flood")
            try await connection.flush()
            let payload = ByteBuffer(repeating: 0x78, count: 100)
            for _ in 0..<1000 { try await connection.publish("flood", payload: payload) }
            // The PONG comes after every message the server sent before it.
            try await connection.flush()
            #expect(subscription.pendingMessages == 10)
            #expect(subscription.pendingBytes == 1000)
            #expect(subscription.droppedMessages == 990)
            #expect(connection.statistics.droppedMessages == 990)
            #expect(connection.status == .connected)
            let kept = await Kit.collect(subscription, count: 10)
            #expect(kept.count == 10)
            try await connection.publish("flood", payload: Kit.payload("after"))
            let after = await Kit.collect(subscription, count: 1)
            #expect(after.first.map { String(buffer: $0.payload) } == "after")

            // The byte bound too.
            let byBytes = try await Kit.connect(server) { $0.pendingBytesLimit = 1000 }
            let small = try byBytes.subscribe("flood.bytes")
            try await byBytes.flush()
            for _ in 0..<50 { try await byBytes.publish("flood.bytes", payload: payload) }
            try await byBytes.flush()
            #expect(small.pendingBytes <= 1000)
            #expect(small.pendingMessages == 10)
            #expect(small.droppedMessages == 40)
            await byBytes.close()
            await connection.close()
        }

        @Test func drainLetsDeliveredMessagesBeConsumed() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let subscription = try connection.subscribe("drain.me")
            try await connection.flush()
            for i in 0..<50 { try await connection.publish("drain.me", payload: Kit.payload("\(i)")) }
            try await connection.flush()
            #expect(subscription.pendingMessages == 50)
            let consumer = Task {
                var got: [String] = []
                for await message in subscription {
                    got.append(String(buffer: message.payload))
                    try? await Task.sleep(for: .milliseconds(2))
                }
                return got
            }
            await connection.drain(timeout: .seconds(5))
            #expect(connection.status == .closed)
            let got = await consumer.value
            #expect(got == (0..<50).map { "\($0)" })
            #expect(connection.hasChannel == false)
            await #expect(throws: NATSError.self) { try await connection.publish("drain.me", payload: Kit.payload("late")) }
            #expect(throws: NATSError.self) { _ = try connection.subscribe("drain.me") }
        }

        @Test func closeEndsEverything() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server) { $0.pingInterval = .milliseconds(50) }
            let subscription = try connection.subscribe("close.me")
            let silent = try connection.subscribe("close.silent")
            try await connection.flush()
            try await connection.publish("close.me", payload: Kit.payload("kept"))
            try await connection.flush()
            // Keep-alive pings run meanwhile.
            try await Task.sleep(for: .milliseconds(200))
            #expect(connection.status == .connected)
            let pending = Task { try await connection.request("close.silent", payload: Kit.payload("?"), timeout: .seconds(5)) }
            try await Kit.eventually("the request arrived") { silent.pendingMessages == 1 }
            await connection.close()
            await connection.close()
            #expect(connection.status == .closed)
            #expect(connection.hasChannel == false)
            let error = await #expect(throws: NATSError.self) { _ = try await pending.value }
            #expect(error?.code == .closed)
            let rest = await Kit.collect(subscription, count: 5, within: .seconds(1))
            #expect(rest.map { String(buffer: $0.payload) } == ["kept"])
            let closedError = await #expect(throws: NATSError.self) { try await connection.publish("close.me", payload: Kit.payload("x")) }
            #expect(closedError?.code == .closed)
            await #expect(throws: NATSError.self) { try await connection.flush() }
        }
    }
}
