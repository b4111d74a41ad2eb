import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MicroCore
import MicroGRPC
import NIOCore
import Testing

extension GRPCTransportSuite {
    /// A server stream goes at the pace of the caller's HTTP/2 window: a handler's `send` waits while
    /// the caller grants no window, so what the server holds per stream stays bounded, other callers
    /// are answered meanwhile, and the stream completes once the window opens.
    @Suite struct GRPCFlowControlTests {
        static let messages = 20_000
        /// Messages a stream may hold for a caller that grants no window. The gate lets a writer go on
        /// with up to about three fences' worth (3 × 64) buffered; without it the stream channel alone
        /// takes 8 KiB of payload (over 500 of these 16-byte messages) and the writer runs ahead of that.
        static let bound = 400

        @Test func serverStreamWaitsForTheCallersWindow() async throws {
            let sent = Shared(0)
            let finished = Shared(false)
            let server = try await GRPCTestServer.start { router in
                // A countdown of small messages, the costliest to hold per byte.
                router.handle("Test.Flood") { (req: Count, stream: ServerStream<Tick>, _: HandlerContext) in
                    for n in (0..<req.from).reversed() {
                        try await stream.send(Tick(n: n))
                        sent.update { $0 += 1 }
                    }
                    finished.update { $0 = true }
                }
            }
            // A caller that grants each stream no window and sends no WINDOW_UPDATE.
            let raw = try await RawHTTP2.connect(port: server.port, settings: [(RawHTTP2.initialWindowSize, 0)])
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 1,
                                              RawHTTP2.grpcHeaders("/greeter.Test/Flood", contentType: "application/grpc+json"))
                + RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, 1, RawHTTP2.message(Array(#"{"from":\#(Self.messages)}"#.utf8))))
            #expect(await eventually { sent.value > 0 }, "the handler never started sending")
            // Time for the handler to run ahead if nothing holds it back.
            try await Task.sleep(for: .seconds(2))
            let held = sent.value
            #expect(held <= Self.bound, "the handler got \(held) messages out to a caller that grants no window")
            #expect(!finished.value)

            // The server answers another caller meanwhile.
            let other = try await withNativeClient(server.address) { client in
                try await Helloworld_Greeter.Client(wrapping: client).sayHello(hello("meanwhile")).message
            }
            #expect(other == "Hello meanwhile")
            #expect(sent.value <= Self.bound)

            // The caller opens the window (stream and connection) wide: the stream runs to its end.
            try await raw.send(RawHTTP2.windowUpdateFrame(1, 0x7fff_ffff) + RawHTTP2.windowUpdateFrame(0, 0x7fff_ffff - 65_535))
            #expect(await eventually(within: .seconds(60)) { finished.value }, "the stream stopped after \(sent.value) messages")
            #expect(try await raw.wait(.seconds(30)) { r in try r.status(of: 1) != nil })
            #expect(try raw.status(of: 1) == "0")
            let received = raw.frames.filter { $0.stream == 1 && $0.type == RawHTTP2.data }.reduce(0) { $0 + $1.payload.count }
            let expected = (0..<Self.messages).reduce(0) { $0 + 5 + #"{"n":\#($1)}"#.utf8.count }
            #expect(received == expected)
            raw.close()
            await server.stop()
        }
    }
}
