import Foundation
import Logging
import MicroAddress
import MicroCore
@testable import MicroHTTP
import NIOCore
import NIOPosix
import Testing

extension HTTPTransportSuite {
    /// Stream writers share their event loop: while many streams of tiny messages run flat out on a
    /// server with one loop, a unary call on that loop is still answered promptly.
    @Suite struct HTTPStreamFairnessTests {
        @Test func helloIsAnsweredWhileStreamsFloodTheLoop() async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            var logger = Logger(label: "test.fairness")
            logger.logLevel = .critical
            let router = Router(serviceName: "test", logger: logger)
            router.handle("Test.Hello") { (req: Hello, _) in Reply(message: "Hello \(req.name)") }
            // Tiny raw messages, cheap to make: the writer never waits for its own socket.
            router.handle("Test.Ticks") { (c: Count, stream: ServerStream<ByteBuffer>, _: HandlerContext) in
                let tick = ByteBuffer(string: "t")
                for _ in 0..<c.from { try await stream.send(tick) }
            }
            let listener = try await HTTPServerTransport(logger: logger, group: group).listen(on: "127.0.0.1:0", handler: router)
            let serving = Task { try? await listener.run() }
            let address = listener.address
            // 20 go-micro streams, each read and dropped as fast as it comes by a bare socket on a
            // loop of its own (a client that decodes would be the bottleneck), each far longer than
            // the calls below.
            let streams = 20
            let ticks = 1_000_000
            let received = Shared<Int>(0)
            let readers = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let target = try HostPort.transportAddress(address)
            var channels: [any Channel] = []
            for id in 0..<streams {
                let channel = try await ClientBootstrap(group: readers)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ByteCounter(received)) }
                    }
                    .connect(host: target.host, port: target.port).get()
                for body in ["{\"from\":0}", "{\"from\":\(ticks)}"] {
                    let request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\nContent-Type: application/json\r\n"
                        + "Micro-Service: test\r\nMicro-Endpoint: Test.Ticks\r\nMicro-Stream: \(id)\r\n\r\n\(body)"
                    try await channel.writeAndFlush(ByteBuffer(string: request)).get()
                }
                channels.append(channel)
            }
            // The streams are flowing before the calls start.
            let flowing = ContinuousClock.now.advanced(by: .seconds(10))
            while received.value < streams * 100 * 200, ContinuousClock.now < flowing { try await Task.sleep(for: .milliseconds(10)) }
            #expect(received.value >= streams * 100 * 200, "the streams did not start (\(received.value) bytes)")

            let caller = HTTPClientTransport()
            var slowest = Duration.zero
            for n in 0..<10 {
                let took = try await elapsed {
                    let reply = try await caller.call(RPCRequest(service: "test", endpoint: "Test.Hello", deadline: .now() + .seconds(5), body: try encode(Hello(name: "h\(n)"))), to: address)
                    #expect(try json.decode(Reply.self, from: reply.body) == Reply(message: "Hello h\(n)"))
                }
                slowest = max(slowest, took)
            }
            // The calls were made while the streams ran: none had finished.
            #expect(received.value < streams * ticks * 200)
            #expect(slowest < .milliseconds(500), "a Hello took \(slowest) while \(streams) streams wrote")
            for channel in channels { try? await channel.close() }
            await caller.shutdown()
            try await readers.shutdownGracefully()
            await listener.shutdown(gracePeriod: .seconds(1))
            await serving.value
            try await group.shutdownGracefully()
        }
    }
}

/// Counts the bytes a channel reads and drops them.
final class ByteCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let count: Shared<Int>
    init(_ count: Shared<Int>) { self.count = count }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        count.update { $0 += bytes }
    }
}
