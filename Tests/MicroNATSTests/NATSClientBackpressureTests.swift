import Foundation
import NIOCore
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import MicroNATS
@testable import NATSClient

private typealias Kit = NATSClientTestKit

extension NATSSuite {
    /// Publishing faster than the socket drains: publishers wait (bounded memory), nothing fails, everything arrives.
    @Suite struct NATSClientBackpressureTests {
        /// The resident set size of this process, from /proc.
        static func residentBytes() -> Int {
            guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                  let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
            return kb * 1024
        }

        /// Counts `subscription`'s messages until `total` arrived or `within` passed.
        static func count(_ subscription: NATSSubscription, total: Int, within: Duration) async -> Int {
            await withTaskGroup(of: Int?.self) { group in
                group.addTask {
                    var n = 0
                    for await _ in subscription {
                        n += 1
                        if n == total { break }
                    }
                    return n
                }
                group.addTask {
                    try? await Task.sleep(for: within)
                    return nil
                }
                let first = await group.next()!
                group.cancelAll()
                return first ?? subscription.receivedMessages
            }
        }

        @Test func firehoseOfOneKiBMessagesIsDeliveredWithBoundedMemory() async throws {
            let server = try await NATSServerProcess()
            let subscriber = try await Kit.connect(server)
            let subscription = try subscriber.subscribe("firehose")
            try await subscriber.flush()
            let publisher = try await Kit.connect(server)
            let total = 300_000
            let payload = ByteBuffer(repeating: 0x66, count: 1024)
            let rssBefore = Self.residentBytes()
            let counted = Task { await Self.count(subscription, total: total, within: .seconds(120)) }
            var maxBuffered = 0
            var peakRSS = rssBefore
            for i in 0..<total {
                try await publisher.publish("firehose", payload: payload)
                if i % 4096 == 0 {
                    maxBuffered = max(maxBuffered, publisher.outboundBufferedBytes)
                    peakRSS = max(peakRSS, Self.residentBytes())
                }
            }
            try await publisher.flush(timeout: .seconds(60))
            let received = await counted.value
            peakRSS = max(peakRSS, Self.residentBytes())
            #expect(received == total)
            #expect(subscription.droppedMessages == 0)
            #expect(publisher.statistics.outMsgs == total)
            #expect(subscriber.statistics.reconnects == 0, "the server cut the subscriber off")
            #expect(publisher.status == .connected)
            // Frames waiting in the client stay under the high-water mark (plus the frame that crossed it).
            #expect(maxBuffered <= publisher.options.maxOutboundBytes + 2048, "buffered \(maxBuffered)")
            // 300 MiB went through; the process held a small part of it at any time.
            #expect(peakRSS - rssBefore < 200 * 1024 * 1024, "RSS grew by \((peakRSS - rssBefore) >> 20) MiB")
            await publisher.close()
            await subscriber.close()
        }

        /// Frames written straight to the socket, through the channel once the socket is full (the server stalls
        /// mid-stream), then straight again, arrive whole and in order; flushes and requests in between too.
        @Test func framesStayInOrderAcrossDirectAndChannelWrites() async throws {
            let server = try await NATSServerProcess()
            let pid = try #require(Kit.serverPID(port: server.port))
            let subscriber = try await Kit.connect(server)
            let subscription = try subscriber.subscribe("ordered")
            let echo = try subscriber.subscribe("ordered.echo")
            try await subscriber.flush()
            let publisher = try await Kit.connect(server) { $0.maxOutboundBytes = 256 * 1024 }
            let total = 60_000
            let checked = Task { () -> (count: Int, bad: Int) in
                var count = 0
                var bad = 0
                for await message in subscription {
                    let payload = message.payload
                    let seq = payload.getInteger(at: payload.readerIndex, as: UInt32.self).map(Int.init) ?? -1
                    let size = 4 + (seq % 13) * 97
                    if seq != count || payload.readableBytes != size
                        || payload.getInteger(at: payload.readerIndex + size - 1, as: UInt8.self) != UInt8(truncatingIfNeeded: seq) {
                        bad += 1
                    }
                    count += 1
                    if count == total { break }
                }
                return (count, bad)
            }
            let answering = Task {
                for await message in echo {
                    if let reply = message.replyTo { try? await subscriber.publish(reply, payload: message.payload) }
                }
            }
            for seq in 0..<total {
                let size = 4 + (seq % 13) * 97
                var payload = ByteBuffer(repeating: UInt8(truncatingIfNeeded: seq), count: size)
                payload.setInteger(UInt32(seq), at: payload.readerIndex)
                try await publisher.publish("ordered", payload: payload)
                if seq == 20_000 {
                    // The server stops reading for a while: the socket fills (12 MB follow), publishing goes on.
                    kill(pid, SIGSTOP)
                    Task {
                        try await Task.sleep(for: .milliseconds(400))
                        kill(pid, SIGCONT)
                    }
                }
                if [5_000, 15_000, 45_000, 55_000].contains(seq) { try await publisher.flush(timeout: .seconds(30)) }
                if [7_000, 52_000].contains(seq) {
                    let answer = try await publisher.request("ordered.echo", payload: ByteBuffer(string: "echo \(seq)"), timeout: .seconds(30))
                    #expect(String(buffer: answer.payload) == "echo \(seq)")
                }
            }
            kill(pid, SIGCONT)
            try await publisher.flush(timeout: .seconds(30))
            let result = await withTaskGroup(of: (count: Int, bad: Int)?.self) { group in
                group.addTask { await checked.value }
                group.addTask {
                    try? await Task.sleep(for: .seconds(60))
                    return nil
                }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
            #expect(result?.count == total)
            #expect(result?.bad == 0)
            #expect(publisher.statistics.reconnects == 0)
            // Both ways were taken: straight to the socket, and through the channel when it was full.
            let counts = publisher.directWriteCounts
            #expect(counts.writes > 0 && counts.paused > 0, "direct writes \(counts.writes), found the socket full \(counts.paused)")
            answering.cancel()
            await publisher.close()
            await subscriber.close()
        }

        @Test func publishWaitsForRoomWhileTheServerStalls() async throws {
            let server = try await NATSServerProcess()
            let pid = try #require(Kit.serverPID(port: server.port))
            let connection = try await Kit.connect(server) { $0.maxOutboundBytes = 64 * 1024 }
            let subscription = try connection.subscribe("stalled")
            try await connection.flush()
            let payload = ByteBuffer(repeating: 0x73, count: 1024)
            let published = Atomic<Int>(0)
            // A paused server reads nothing: the socket fills, then the outbound buffer, then publish waits.
            kill(pid, SIGSTOP)
            let publisher = Task {
                for _ in 0..<200_000 {
                    try await connection.publish("stalled", payload: payload)
                    published.add(1, ordering: .relaxed)
                }
            }
            var stalled = false
            var last = -1
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(300))
                let now = published.load(ordering: .relaxed)
                if now == last && connection.waitingPublishers == 1 {
                    stalled = true
                    break
                }
                last = now
            }
            #expect(stalled, "publish never waited (published \(last))")
            #expect(connection.outboundBufferedBytes <= 64 * 1024 + 2048)
            #expect(connection.status == .connected)
            // A publish that waits can be cancelled: it throws and sends nothing.
            let before = connection.statistics.outMsgs
            let cancelled = Task { try await connection.publish("stalled", payload: payload) }
            try await Kit.eventually("the second publisher waits") { connection.waitingPublishers == 2 }
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            #expect(connection.statistics.outMsgs == before)
            kill(pid, SIGCONT)
            try await publisher.value
            try await connection.flush(timeout: .seconds(30))
            #expect(published.load(ordering: .relaxed) == 200_000)
            #expect(subscription.receivedMessages == 200_000)
            await connection.close()
        }

        /// A publisher streaming small messages without pause (so its frames are batched) never fills a large
        /// write: its frames still go out while it goes on, not once it stops or half a MiB piled up.
        @Test func aSteadyStreamIsDeliveredWhileItLasts() async throws {
            let server = try await NATSServerProcess()
            let subscriber = try await Kit.connect(server)
            let arrived = Atomic<Int>(0)
            let subscription = try subscriber.subscribe("steady") { _ in arrived.add(1, ordering: .relaxed) }
            try await subscriber.flush()
            let publisher = try await Kit.connect(server)
            let payload = ByteBuffer(repeating: 0x73, count: 16)
            // 7,000 frames of 37 bytes: about 250 KiB, half of what publishers let pile up before writing.
            let total = 7_000
            for _ in 0..<total {
                try await publisher.publish("steady", payload: payload)
                // A few microseconds apart: quick enough to count as a stream, for as long as 7,000 of them take.
                let next = ContinuousClock.now + .microseconds(3)
                while ContinuousClock.now < next {}
            }
            // Frames wait a look or two (under a millisecond) in a stream that lasts over 20 ms, so most arrive while
            // it goes on (the subscriber, on the same cores, may lag). Batched until the stream ends, only the few
            // written before batching began would.
            let whileStreaming = arrived.load(ordering: .relaxed)
            #expect(whileStreaming >= total / 10, "\(whileStreaming) of \(total) arrived while they were published")
            try await publisher.flush()
            try await Kit.eventually("all arrive") { arrived.load(ordering: .relaxed) == total }
            await publisher.close()
            try subscription.unsubscribe()
            await subscriber.close()
        }

        @Test func waitingPublishersFailOnceClosed() async throws {
            let server = try await NATSServerProcess()
            let pid = try #require(Kit.serverPID(port: server.port))
            let connection = try await Kit.connect(server) { $0.maxOutboundBytes = 16 * 1024 }
            try await connection.flush()
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            let payload = ByteBuffer(repeating: 0x63, count: 1024)
            let publisher = Task {
                while true { try await connection.publish("closing", payload: payload) }
            }
            try await Kit.eventually("the publisher waits", within: .seconds(30)) { connection.waitingPublishers == 1 }
            await connection.close()
            let error = await #expect(throws: NATSError.self) { try await publisher.value }
            #expect(error?.code == .closed)
        }
    }
}
