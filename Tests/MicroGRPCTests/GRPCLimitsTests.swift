import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import MicroCore
import MicroGRPC
import MicroTestSupport
import NIOCore
import Testing

extension GRPCTransportSuite {
    /// Bad input gets a gRPC error and loses nothing: message size limits each way (4 MiB by
    /// default, configurable), malformed and truncated frames, a flood of streams bounded by
    /// HTTP/2's concurrent-stream limit; the server keeps serving and its memory comes back.
    @Suite struct GRPCLimitsTests {
        static func big(_ size: Int) -> Helloworld_HelloRequest { hello(String(repeating: "x", count: size)) }

        @Test func requestOverTheServersLimitIsResourceExhausted() async throws {
            var configuration = GRPCServerConfiguration()
            configuration.maxRequestMessageSize = 64 << 10
            let server = try await GRPCTestServer.start(configuration: configuration)
            try await withNativeClient(server.address) { client in
                let greeter = Helloworld_Greeter.Client(wrapping: client)
                let error = await caught { _ = try await greeter.sayHello(Self.big(100 << 10)) }
                #expect((error as? RPCError)?.code == .resourceExhausted, "\(String(describing: error))")
                let fits = try await greeter.sayHello(Self.big(60 << 10))
                #expect(fits.message.count == (60 << 10) + 6)
            }
            await server.stop()
        }

        /// A connection with no call in flight is closed after the idle time (60 s by default), even
        /// when the peer ignores GOAWAY and pings; one with a call in flight is not.
        @Test func idleConnectionIsClosed() async throws {
            var configuration = GRPCServerConfiguration()
            #expect(configuration.idleConnectionTimeout == .seconds(60))
            // Long enough that a loaded machine still opens the slow call's stream before it passes.
            configuration.idleConnectionTimeout = .seconds(1)
            let server = try await GRPCTestServer.start(configuration: configuration) { router in
                router.handle("Test.Slow") { (req: Hello, _: HandlerContext) -> Reply in
                    try await Task.sleep(for: .milliseconds(2500))
                    return Reply(message: "slow \(req.name)")
                }
            }
            let raw = try await RawHTTP2.connect(port: server.port)
            let deadline = ContinuousClock.now + .seconds(6)
            while !raw.isClosed && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(raw.isClosed, "an idle gRPC connection stayed open")
            // A call in flight longer than the timeout keeps its connection.
            let transport = GRPCClientTransport()
            let slow = try await transport.call(jsonRequest("Test.Slow", #"{"name":"x"}"#, deadline: .now() + .seconds(5)), to: server.address)
            #expect(String(buffer: slow.body).contains("slow x"))
            await transport.shutdown()
            // A client whose calls come closer together than the timeout keeps its connection.
            try await withNativeClient(server.address) { client in
                let greeter = Helloworld_Greeter.Client(wrapping: client)
                for i in 0..<5 {
                    _ = try await greeter.sayHello(hello("n\(i)"))
                    try await Task.sleep(for: .milliseconds(400))
                }
            }
            await server.stop()
        }

        @Test func defaultLimitIsFourMiB() async throws {
            let server = try await GRPCTestServer.start()
            try await withNativeClient(server.address) { client in
                let greeter = Helloworld_Greeter.Client(wrapping: client)
                var options = GRPCCore.CallOptions.defaults
                options.maxRequestMessageBytes = 8 << 20
                options.maxResponseMessageBytes = 8 << 20
                let error = await caught { _ = try await greeter.sayHello(Self.big((4 << 20) + 100), options: options) }
                #expect((error as? RPCError)?.code == .resourceExhausted, "\(String(describing: error))")
                let fits = try await greeter.sayHello(Self.big((4 << 20) - 100), options: options)
                #expect(fits.message.count == (4 << 20) - 94)
            }
            await server.stop()
        }

        @Test func responseOverTheServersLimitIsResourceExhausted() async throws {
            var configuration = GRPCServerConfiguration()
            configuration.maxResponseMessageSize = 64 << 10
            let server = try await GRPCTestServer.start(configuration: configuration) { router in
                router.handle("Test.Big") { (req: Count, _: HandlerContext) -> Reply in Reply(message: String(repeating: "y", count: req.from)) }
                router.handle("Test.BigStream") { (req: Count, stream: ServerStream<Reply>, _: HandlerContext) in
                    try await stream.send(Reply(message: "small"))
                    try await stream.send(Reply(message: String(repeating: "y", count: req.from)))
                }
            }
            let client = try await microClient(addresses: [server.address], retries: 0)
            let error = await caught { let _: Reply = try await client.call("greeter", "Test.Big", Count(from: 100 << 10)) }
            #expect((error as? MicroError)?.code == 413, "\(String(describing: error))")
            let ok: Reply = try await client.call("greeter", "Test.Big", Count(from: 60 << 10))
            #expect(ok.message.count == 60 << 10)
            let stream = try await client.openStream("greeter", "Test.BigStream", sending: Count.self, receiving: Reply.self)
            try await stream.send(Count(from: 100 << 10))
            try await stream.finishSending()
            #expect(try await stream.receive() == Reply(message: "small"))
            let streamError = await caught { _ = try await stream.receive() }
            #expect((streamError as? MicroError)?.code == 413, "\(String(describing: streamError))")
            await client.shutdown()
            await server.stop()
        }

        @Test func clientLimitsEachWay() async throws {
            let calls = Shared(0)
            let server = try await GRPCTestServer.start { router in
                router.handle("Test.Echo64") { (req: Hello, _: HandlerContext) -> Reply in
                    calls.update { $0 += 1 }
                    return Reply(message: req.name)
                }
            }
            let client = try await microClient(addresses: [server.address],
                                               configuration: GRPCClientConfiguration(maxRequestMessageSize: 32 << 10, maxResponseMessageSize: 16 << 10),
                                               retries: 0)
            let tooBig = await caught { let _: Reply = try await client.call("greeter", "Test.Echo64", Hello(name: String(repeating: "a", count: 40 << 10))) }
            #expect((tooBig as? MicroError)?.code == 413, "\(String(describing: tooBig))")
            #expect(calls.value == 0, "nothing was sent")
            let answerTooBig = await caught { let _: Reply = try await client.call("greeter", "Test.Echo64", Hello(name: String(repeating: "a", count: 20 << 10))) }
            #expect((answerTooBig as? MicroError)?.code == 413, "\(String(describing: answerTooBig))")
            let fine: Reply = try await client.call("greeter", "Test.Echo64", Hello(name: "small"))
            #expect(fine.message == "small")
            await client.shutdown()
            await server.stop()
        }

        @Test func malformedAndTruncatedFramesGetErrorsAndTheConnectionLives() async throws {
            let server = try await GRPCTestServer.start()
            let raw = try await RawHTTP2.connect(port: server.port)
            let path = "/helloworld.Greeter/SayHello"
            // 1: a message whose length prefix promises 100 bytes, then the stream ends after 10.
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 1, RawHTTP2.grpcHeaders(path))
                + RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, 1, [0, 0, 0, 0, 100] + Array(repeating: 0x41, count: 10)))
            // 3: the compressed flag without a grpc-encoding.
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 3, RawHTTP2.grpcHeaders(path))
                + RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, 3, RawHTTP2.message([0x0a, 0x01, 0x61], compressed: true)))
            // 5: a well-framed message that is not protobuf.
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 5, RawHTTP2.grpcHeaders(path))
                + RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, 5, RawHTTP2.message([0xff, 0xff, 0xff, 0xff])))
            // 7: not gRPC at all.
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders | RawHTTP2.endStream, 7,
                                              RawHTTP2.grpcHeaders(path, contentType: "text/plain")))
            // 9: an unknown grpc-encoding.
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 9, RawHTTP2.grpcHeaders(path, extra: [("grpc-encoding", "zstd-9000")]))
                + RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, 9, RawHTTP2.message([0x0a, 0x01, 0x61])))
            // 11: a good call on the same connection.
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 11, RawHTTP2.grpcHeaders(path))
                + RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, 11, RawHTTP2.message([0x0a, 0x02, 0x6f, 0x6b])))
            let answered = try await raw.wait { r in try [1, 3, 5, 7, 9, 11].allSatisfy { try r.status(of: $0) != nil } }
            let statuses = try [1, 3, 5, 7, 9, 11].map { try raw.status(of: $0) ?? "none" }
            #expect(answered, "statuses: \(statuses)")
            #expect(try raw.status(of: 1) == "13")  // INTERNAL: truncated message
            #expect(try raw.status(of: 3) == "13")  // INTERNAL: compressed without an encoding
            #expect(try raw.status(of: 5) == "3")  // INVALID_ARGUMENT: the codec's 400
            #expect(try raw.status(of: 7) == "http 415")
            #expect(try raw.status(of: 9) == "12")  // UNIMPLEMENTED: unsupported encoding
            #expect(try raw.status(of: 11) == "0")
            #expect(!raw.isClosed)
            raw.close()
            // Bytes that are not HTTP/2: the connection closes, the server goes on.
            let junk = try await RawHTTP2.connect(port: server.port, preface: false)
            try await junk.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + Array(repeating: 0xff, count: 64))
            #expect(await junk.wait { $0.isClosed })
            let after = try await withNativeClient(server.address) { client in
                try await Helloworld_Greeter.Client(wrapping: client).sayHello(hello("after")).message
            }
            #expect(after == "Hello after")
            await server.stop()
        }

        /// A message over the limit after the answer began (a bidi stream that already replied): the
        /// status goes out as trailers, without a second `:status`, and the connection lives on.
        @Test func oversizedMessageMidStreamEndsItWithTrailers() async throws {
            var configuration = GRPCServerConfiguration()
            configuration.maxRequestMessageSize = 1024
            let server = try await GRPCTestServer.start(configuration: configuration)
            let raw = try await RawHTTP2.connect(port: server.port)
            let path = "/helloworld.Greeter/SayHelloBidiStream"
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 1, RawHTTP2.grpcHeaders(path))
                + RawHTTP2.frame(RawHTTP2.data, 0, 1, RawHTTP2.message([0x0a, 0x01, 0x61])))
            let replied = try await raw.wait { r in try r.headerBlocks().contains { $0.stream == 1 && $0.headers.first(name: ":status") == "200" } }
            #expect(replied)
            try await raw.send(RawHTTP2.frame(RawHTTP2.data, 0, 1, [0, 0, 0, 8, 0]))   // promises 2048 bytes
            let ended = try await raw.wait { r in try r.status(of: 1) != nil }
            #expect(ended)
            #expect(try raw.status(of: 1) == "8")
            let blocks = try raw.headerBlocks().filter { $0.stream == 1 }
            #expect(blocks.count == 2)
            #expect(blocks.last?.headers.first(name: ":status") == nil)
            #expect(blocks.first?.headers.first(name: "content-type") == "application/grpc")
            // A good call on the same connection.
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 3, RawHTTP2.grpcHeaders("/helloworld.Greeter/SayHello"))
                + RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, 3, RawHTTP2.message([0x0a, 0x02, 0x6f, 0x6b])))
            #expect(try await raw.wait { r in try r.status(of: 3) != nil })
            #expect(try raw.status(of: 3) == "0")
            raw.close()
            await server.stop()
        }

        /// A `+json` caller gets its answer in `application/grpc+json`.
        @Test func jsonSubtypeIsAnsweredInKind() async throws {
            let server = try await GRPCTestServer.start()
            let raw = try await RawHTTP2.connect(port: server.port)
            let body = Array(#"{"name":"j"}"#.utf8)
            try await raw.send(RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, 1,
                                              RawHTTP2.grpcHeaders("/helloworld.Greeter/SayHello", contentType: "application/grpc+json"))
                + RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, 1, RawHTTP2.message(body)))
            #expect(try await raw.wait { r in try r.status(of: 1) != nil })
            #expect(try raw.status(of: 1) == "0")
            let first = try raw.headerBlocks().first { $0.stream == 1 }
            #expect(first?.headers.first(name: "content-type") == "application/grpc+json")
            #expect(String(decoding: raw.frames.filter { $0.stream == 1 && $0.type == RawHTTP2.data }.flatMap { $0.payload.dropFirst(5) }, as: UTF8.self)
                    == #"{"message":"Hello j"}"#)
            raw.close()
            await server.stop()
        }

        @Test func floodOfStreamsIsBoundedPerConnection() async throws {
            let running = Shared<(now: Int, peak: Int)>((0, 0))
            var configuration = GRPCServerConfiguration()
            configuration.maxConcurrentStreams = 8
            let server = try await GRPCTestServer.start(configuration: configuration) { router in
                router.handle("Test.Slow") { (req: Hello, _: HandlerContext) -> Reply in
                    running.update { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                    defer { running.update { $0.now -= 1 } }
                    try await Task.sleep(for: .milliseconds(20))
                    return Reply(message: req.name)
                }
            }
            // A well-behaved client queues beyond the limit: all 200 calls land, 8 at a time at most.
            let client = try await microClient(addresses: [server.address], retries: 0, timeout: .seconds(30))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        let r: Reply = try await client.call("greeter", "Test.Slow", Hello(name: "\(i)"))
                        #expect(r.message == "\(i)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(running.value.peak <= 8, "\(running.value)")
            await client.shutdown()

            // A client that ignores the limit: streams past it are refused, the connection's
            // handlers never exceed it, and the server goes on.
            let before = residentMemory()
            for _ in 0..<5 {
                let raw = try await RawHTTP2.connect(port: server.port)
                var bytes: [UInt8] = []
                for i in 0..<100 {
                    let stream = UInt32(2 * i + 1)
                    bytes += RawHTTP2.frame(RawHTTP2.headers, RawHTTP2.endHeaders, stream, RawHTTP2.grpcHeaders("/greeter.Test/Slow"))
                    bytes += RawHTTP2.frame(RawHTTP2.data, RawHTTP2.endStream, stream, RawHTTP2.message(Array(#"{"name":"f"}"#.utf8)))
                }
                try await raw.send(bytes)
                let refused = await raw.wait { r in r.frames.contains { $0.type == RawHTTP2.rstStream || $0.type == RawHTTP2.goaway } }
                #expect(refused, "no stream was refused")
                raw.close()
            }
            #expect(running.value.peak <= 8, "\(running.value)")
            #expect(await eventually { running.value.now == 0 })
            let still = try await withNativeClient(server.address) { native in
                try await Helloworld_Greeter.Client(wrapping: native).sayHello(hello("still")).message
            }
            #expect(still == "Hello still")
            let after = residentMemory()
            #expect(after < before + (64 << 20), "resident memory grew from \(before >> 20) MiB to \(after >> 20) MiB")
            await server.stop()
        }
    }
}

/// This process's resident set size in bytes (Linux).
func residentMemory() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
