import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Synchronization
import Testing

@testable import MicroNATS
@testable import NATSClient

private typealias Kit = NATSClientTestKit

extension NATSSuite {
    /// Handler subscriptions (messages handed to a closure on the event loop) and `tryPublish`,
    /// against a real nats-server.
    @Suite struct NATSHandlerSubscriptionTests {
        @Test func handlerGetsEveryMessageInOrderAndAnswersRequests() async throws {
            let server = try await NATSServerProcess()
            let responder = try await Kit.connect(server)
            let seen = NIOLockedValueBox<[String]>([])
            let subscription = try responder.subscribe("svc.echo") { message in
                seen.withLockedValue { $0.append(String(buffer: message.payload)) }
                if let reply = message.replyTo { try? responder.tryPublish(reply, payload: message.payload) }
            }
            try await responder.flush()
            let requester = try await Kit.connect(server)
            for i in 0..<50 {
                let answer = try await requester.request("svc.echo", payload: Kit.payload("r\(i)"), timeout: .seconds(5))
                #expect(String(buffer: answer.payload) == "r\(i)")
            }
            for i in 0..<200 { try await requester.publish("svc.echo", payload: Kit.payload("p\(i)")) }
            try await requester.flush()
            try await Kit.eventually("all 250 messages handled") { seen.withLockedValue { $0.count } == 250 }
            #expect(seen.withLockedValue { $0 } == (0..<50).map { "r\($0)" } + (0..<200).map { "p\($0)" })
            #expect(subscription.pendingMessages == 0)
            // Unsubscribing ends its (empty) sequence and stops the handler.
            try subscription.unsubscribe()
            var iterator = subscription.makeAsyncIterator()
            #expect(await iterator.next() == nil)
            try await requester.publish("svc.echo", payload: Kit.payload("late"))
            try await requester.flush()
            try await responder.flush()
            #expect(seen.withLockedValue { $0.count } == 250)
            await requester.close()
            await responder.close()
        }

        @Test func handlerStopsAfterTheUnsubscribeLimit() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let count = Atomic<Int>(0)
            let subscription = try connection.subscribe("limited") { _ in count.add(1, ordering: .relaxed) }
            try subscription.unsubscribe(after: 3)
            try await connection.flush()
            for i in 0..<10 { try await connection.publish("limited", payload: Kit.payload("\(i)")) }
            try await connection.flush()
            var iterator = subscription.makeAsyncIterator()
            #expect(await iterator.next() == nil)   // ends once the third arrived
            #expect(count.load(ordering: .relaxed) == 3)
            await connection.close()
        }

        @Test func handlerSubscriptionsComeBackAfterAReconnect() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server) { $0.reconnectWait = .milliseconds(50) }
            let count = Atomic<Int>(0)
            _ = try connection.subscribe("again") { _ in count.add(1, ordering: .relaxed) }
            try await connection.flush()
            try await connection.publish("again", payload: Kit.payload("before"))
            try await connection.flush()
            try await Kit.eventually("the first message") { count.load(ordering: .relaxed) == 1 }
            server.kill()
            try await Kit.eventually("the client noticed") { connection.status == .reconnecting }
            try await server.start()
            try await Kit.eventually("reconnected", within: .seconds(10)) { connection.status == .connected }
            try await connection.publish("again", payload: Kit.payload("after"))
            try await connection.flush()
            try await Kit.eventually("the message after the restart") { count.load(ordering: .relaxed) == 2 }
            await connection.close()
        }

        @Test func tryPublishRefusesInsteadOfWaitingWhenTheBufferIsFull() async throws {
            let server = try await NATSServerProcess()
            let pid = try #require(Kit.serverPID(port: server.port))
            let connection = try await Kit.connect(server) { $0.maxOutboundBytes = 64 * 1024 }
            try await connection.flush()
            let payload = ByteBuffer(repeating: 0x74, count: 1024)
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            var sent = 0
            var refusal: NATSError?
            // A paused server reads nothing: the socket fills, then the outbound buffer; tryPublish
            // then throws at once (bounded: 100k KiB-frames is far past any socket buffer).
            while sent < 100_000 {
                do {
                    try connection.tryPublish("stalled", payload: payload)
                    sent += 1
                } catch let error as NATSError {
                    refusal = error
                    break
                }
                if sent % 256 == 0 { try await Task.sleep(for: .milliseconds(1)) }
            }
            #expect(refusal?.code == .outboundBufferFull, "\(sent) frames accepted, no refusal")
            #expect(connection.outboundBufferedBytes <= 64 * 1024 + 2048)
            #expect(throws: NATSError.self) { try connection.tryPublish("bad subject", payload: payload) }
            kill(pid, SIGCONT)
            try await connection.flush(timeout: .seconds(30))
            #expect(connection.statistics.outMsgs == sent)
            await connection.close()
        }
    }
}
