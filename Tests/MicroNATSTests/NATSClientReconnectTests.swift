import Foundation
import MicroNATS
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import MicroNATS
@testable import NATSClient

private typealias Kit = NATSClientTestKit

extension NATSSuite {
    /// Losing the server: buffering, re-subscribing, bounded buffers, failing what cannot survive.
    @Suite struct NATSClientReconnectTests {
        @Test func publishesWhileDownAreDeliveredAfterReconnect() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let subscription = try connection.subscribe("r.>")
            let queued = try connection.subscribe("rq", queue: "group")
            try await connection.publish("r.before", payload: Kit.payload("before"))
            #expect(await Kit.collect(subscription, count: 1).count == 1)

            server.kill()
            try await Kit.eventually("the client noticed") { connection.status == .reconnecting }
            for i in 0..<200 { try await connection.publish("r.\(i)", payload: Kit.payload("\(i)")) }
            try await connection.publish("rq", payload: Kit.payload("queued"))
            // A subscription made while down is sent on reconnect too.
            let late = try connection.subscribe("late")
            try await connection.publish("late", payload: Kit.payload("late"))
            try await server.start()

            let messages = await Kit.collect(subscription, count: 200, within: .seconds(8))
            #expect(messages.count == 200)
            #expect(messages.map { String(buffer: $0.payload) } == (0..<200).map { "\($0)" })
            #expect(await Kit.collect(queued, count: 1).count == 1)
            #expect(await Kit.collect(late, count: 1).count == 1)
            #expect(connection.status == .connected)
            #expect(connection.statistics.reconnects >= 1)
            try await connection.publish("r.after", payload: Kit.payload("after"))
            #expect(await Kit.collect(subscription, count: 1).first?.subject == "r.after")
            await connection.close()
        }

        @Test func reconnectBufferIsBounded() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server) { $0.reconnectBufferSize = 4096 }
            let subscription = try connection.subscribe("bounded")
            try await connection.flush()
            server.kill()
            try await Kit.eventually("the client noticed") { connection.status == .reconnecting }
            let payload = ByteBuffer(repeating: 0x62, count: 100)
            var accepted = 0
            var refusal: NATSError?
            while accepted < 1000 {
                do {
                    var tagged = payload
                    tagged.setString(String(format: "%04d", accepted), at: tagged.readerIndex)
                    try await connection.publish("bounded", payload: tagged)
                    accepted += 1
                } catch let error as NATSError {
                    refusal = error
                    break
                }
            }
            #expect(refusal?.code == .reconnectBufferExceeded)
            #expect(accepted > 10 && accepted < 100, "accepted \(accepted)")
            // Still refused, not dropped silently.
            await #expect(throws: NATSError.self) { try await connection.publish("bounded", payload: payload) }
            try await server.start()
            let messages = await Kit.collect(subscription, count: accepted, within: .seconds(8))
            #expect(messages.count == accepted)
            #expect(messages.map { String(buffer: $0.payload.getSlice(at: $0.payload.readerIndex, length: 4)!) } == (0..<accepted).map { String(format: "%04d", $0) })
            let extra = await Kit.collect(subscription, count: 1, within: .milliseconds(300))
            #expect(extra.isEmpty)
            try await connection.publish("bounded", payload: payload)
            try await connection.flush()
            await connection.close()
        }

        @Test func pendingRequestsFailWhenTheConnectionDrops() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server)
            let silent = try connection.subscribe("r.silent")
            try await connection.flush()
            let request = Task { try await connection.request("r.silent", payload: Kit.payload("?"), timeout: .seconds(8)) }
            try await Kit.eventually("the request arrived") { silent.pendingMessages == 1 }
            let start = ContinuousClock.now
            server.kill()
            let error = await #expect(throws: NATSError.self) { _ = try await request.value }
            #expect(error?.code == .connectionClosed)
            #expect(ContinuousClock.now - start < .seconds(2))
            // A flush while down waits for the reconnect.
            try await Kit.eventually("the client noticed") { connection.status == .reconnecting }
            let flush = Task { try await connection.flush(timeout: .seconds(8)) }
            try await Task.sleep(for: .milliseconds(100))
            try await server.start()
            try await flush.value
            #expect(connection.status == .connected)
            await connection.close()
        }

        @Test func givesUpAfterMaxReconnectAttempts() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server) {
                $0.maxReconnectAttempts = 3
                $0.reconnectWait = .milliseconds(10)
                $0.reconnectWaitMax = .milliseconds(50)
            }
            let subscription = try connection.subscribe("gone")
            try await connection.flush()
            server.kill()
            try await Kit.eventually("the client gave up") { connection.status == .closed }
            #expect(connection.hasChannel == false)
            #expect(await Kit.collect(subscription, count: 1, within: .seconds(1)).isEmpty)
            await #expect(throws: NATSError.self) { try await connection.publish("gone", payload: Kit.payload("x")) }
            await connection.close()
        }

        @Test func noReconnectClosesOnLoss() async throws {
            let server = try await NATSServerProcess()
            let connection = try await Kit.connect(server) { $0.reconnect = false }
            try await connection.flush()
            server.kill()
            try await Kit.eventually("the connection closed") { connection.status == .closed }
            await connection.close()
        }

        @Test func unansweredPingsTriggerReconnect() async throws {
            let server = try await NATSServerProcess()
            let pid = try #require(Kit.serverPID(port: server.port))
            let connection = try await Kit.connect(server) {
                $0.pingInterval = .milliseconds(100)
                $0.maxPingsOut = 2
                $0.connectTimeout = .milliseconds(300)
            }
            let subscription = try connection.subscribe("stale")
            try await connection.flush()
            // A paused server keeps the socket open but answers nothing.
            kill(pid, SIGSTOP)
            do {
                try await Kit.eventually("the client gave up on the silent server", within: .seconds(3)) { connection.status == .reconnecting }
            } catch {
                kill(pid, SIGCONT)
                throw error
            }
            try await connection.publish("stale", payload: Kit.payload("buffered"))
            kill(pid, SIGCONT)
            let messages = await Kit.collect(subscription, count: 1, within: .seconds(5))
            #expect(messages.map { String(buffer: $0.payload) } == ["buffered"])
            #expect(connection.statistics.reconnects >= 1)
            await connection.close()
        }

        @Test func serverPingsAreAnswered() async throws {
            // The server pings every 100 ms and drops a client that leaves 2 unanswered.
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("nats-ping-\(UUID().uuidString.prefix(8)).conf")
            try "ping_interval: \"100ms\"\nping_max: 2\n".write(to: config, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: config) }
            let server = try await NATSServerProcess(arguments: ["-c", config.path])
            let connection = try await Kit.connect(server)
            try await Task.sleep(for: .milliseconds(700))
            #expect(connection.status == .connected)
            #expect(connection.statistics.reconnects == 0)
            try await connection.flush()
            await connection.close()
        }

        @Test func backoffIsBoundedAndJittered() {
            var seen = Set<Int64>()
            for attempt in 0..<40 {
                let wait = NATSConnection.backoff(attempt: attempt, base: .milliseconds(200), cap: .seconds(2))
                #expect(wait.nanoseconds >= 0)
                #expect(wait.nanoseconds <= 2_000_000_000)
                if attempt == 0 { #expect(wait.nanoseconds <= 200_000_000) }
                seen.insert(wait.nanoseconds)
            }
            #expect(seen.count > 30)
        }
    }
}
