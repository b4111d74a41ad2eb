import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import MicroCore
import MicroGRPC
import NIOCore
import Testing

extension GRPCTransportSuite {
    /// What travels with a call: metadata both ways (headers and trailers), the deadline to the
    /// handler and onward calls, the caller's cancellation to the handler.
    @Suite struct GRPCSemanticsTests {
        @Test func requestMetadataReachesTheHandler() async throws {
            let seen = Shared<[String: String]>([:])
            let server = try await GRPCTestServer.start { router in
                router.handle("Test.Meta") { (_: Hello, ctx: HandlerContext) -> Reply in
                    seen.update { $0 = ctx.metadata.dictionary.merging(["task-local": CallContext.current.metadata["x-user"] ?? ""]) { a, _ in a } }
                    return Reply(message: "ok")
                }
            }
            let client = try await microClient(addresses: [server.address])
            let options = CallOptions(timeout: .seconds(5), contentType: "application/json", metadata: ["X-User": "alice", "Trace-Bin": "AAEC"])
            let _: Reply = try await client.call("greeter", "Test.Meta", Hello(name: "a"), options: options)
            let m = seen.value
            #expect(m["x-user"] == "alice")
            #expect(m["task-local"] == "alice")
            #expect(m["trace-bin"] == "AAEC")
            #expect(m["grpc-timeout"] == nil && m["content-type"] == nil && m[":path"] == nil)
            #expect(m["micro-id"]?.isEmpty == false)
            await client.shutdown()
            await server.stop()
        }

        @Test func responseHeadersAndTrailersReachBothClients() async throws {
            let server = try await GRPCTestServer.start { router in
                router.handle("Test.Headers") { (req: Hello, _: HandlerContext) -> Reply in
                    GRPCCallContext.current?.addHeader("h-\(req.name)", forKey: "X-Header")
                    GRPCCallContext.current?.addTrailer("t-\(req.name)", forKey: "x-trailer")
                    GRPCCallContext.current?.addBinaryTrailer([0, 1, 2, 255], forKey: "x-raw-bin")
                    return Reply(message: "ok")
                }
            }
            let client = try await microClient(addresses: [server.address])
            let response = try await client.callRaw("greeter", "Test.Headers", body: ByteBuffer(string: #"{"name":"m"}"#))
            #expect(response.metadata["x-header"] == "h-m")
            #expect(response.metadata["x-trailer"] == "t-m")
            #expect(response.metadata["x-raw-bin"] == Data([0, 1, 2, 255]).base64EncodedString())
            await client.shutdown()

            let echo = MethodDescriptor(fullyQualifiedService: "test.Meta", method: "Echo", type: .unary)
            server.router.handle(echo) { (req: Helloworld_HelloRequest, _: HandlerContext) -> Helloworld_HelloReply in
                GRPCCallContext.current?.addHeader("h-\(req.name)", forKey: "x-header")
                GRPCCallContext.current?.addTrailer("t-\(req.name)", forKey: "x-trailer")
                return Helloworld_HelloReply()
            }
            try await withNativeClient(server.address) { native in
                let (headers, trailers) = try await native.unary(request: ClientRequest(message: hello("n")), descriptor: echo,
                                                                 serializer: ProtobufSerializer<Helloworld_HelloRequest>(),
                                                                 deserializer: ProtobufDeserializer<Helloworld_HelloReply>(),
                                                                 options: .defaults) { response in
                    (response.metadata, response.trailingMetadata)
                }
                #expect(Array(headers[stringValues: "x-header"]) == ["h-n"])
                #expect(Array(trailers[stringValues: "x-trailer"]) == ["t-n"])
            }
            await server.stop()
        }

        @Test func deadlineReachesTheHandlerAndOnwardCalls() async throws {
            let seen = Shared<[String: Double]>([:])
            let backend = try await GRPCTestServer.start(name: "backend") { router in
                router.handle("Test.Deadline") { (_: Hello, ctx: HandlerContext) -> Reply in
                    let left = ctx.deadline.map { Double(($0 - .now()).nanoseconds) / 1e9 } ?? -1
                    seen.update { $0["backend"] = left }
                    return Reply(message: "backend")
                }
            }
            let onward = try await microClient("backend", addresses: [backend.address], timeout: .seconds(30))
            let front = try await GRPCTestServer.start(name: "front") { router in
                router.handle("Test.Deadline") { (_: Hello, ctx: HandlerContext) -> Reply in
                    let left = ctx.deadline.map { Double(($0 - .now()).nanoseconds) / 1e9 } ?? -1
                    let local = CallContext.current.deadline.map { Double(($0 - .now()).nanoseconds) / 1e9 } ?? -1
                    seen.update { $0["front"] = left; $0["front-task-local"] = local }
                    let _: Reply = try await onward.call("backend", "Test.Deadline", Hello(name: "x"))
                    return Reply(message: "front")
                }
            }
            let client = try await microClient("front", addresses: [front.address], timeout: .seconds(2))
            let _: Reply = try await client.call("front", "Test.Deadline", Hello(name: "x"))
            let s = seen.value
            #expect((1.5...2.01).contains(s["front"] ?? -1), "\(s)")
            #expect((1.5...2.01).contains(s["front-task-local"] ?? -1), "\(s)")
            // The onward call kept the caller's 2 s deadline, not its own 30 s default.
            #expect((1.0...2.01).contains(s["backend"] ?? -1), "\(s)")
            await client.shutdown()
            await onward.shutdown()
            await front.stop()
            await backend.stop()
        }

        @Test func deadlinePassingCancelsTheHandlerAndAnswersAtOnce() async throws {
            let cancelled = Shared(false)
            let server = try await GRPCTestServer.start { router in
                router.handle("Test.Sleep") { (_: Hello, _: HandlerContext) -> Reply in
                    do { try await Task.sleep(for: .seconds(10)) } catch { cancelled.update { $0 = true }; throw error }
                    return Reply(message: "late")
                }
            }
            let client = try await microClient(addresses: [server.address], retries: 0, timeout: .milliseconds(300))
            let start = ContinuousClock.now
            let error = await caught { let _: Reply = try await client.call("greeter", "Test.Sleep", Hello(name: "x")) }
            let took = ContinuousClock.now - start
            #expect((error as? MicroError)?.code == 408, "\(String(describing: error))")
            #expect(took < .seconds(2), "\(took)")
            #expect(await eventually { cancelled.value })

            // A native client with a timeout sees DEADLINE_EXCEEDED from the server.
            let slow = MethodDescriptor(fullyQualifiedService: "test.Slow", method: "Sleep", type: .unary)
            server.router.handle(slow) { (_: Helloworld_HelloRequest, _: HandlerContext) -> Helloworld_HelloReply in
                try await Task.sleep(for: .seconds(10))
                return Helloworld_HelloReply()
            }
            try await withNativeClient(server.address) { native in
                var options = GRPCCore.CallOptions.defaults
                options.timeout = .milliseconds(200)
                let error = await caught {
                    _ = try await native.unary(request: ClientRequest(message: hello("n")), descriptor: slow,
                                               serializer: ProtobufSerializer<Helloworld_HelloRequest>(),
                                               deserializer: ProtobufDeserializer<Helloworld_HelloReply>(),
                                               options: options) { try $0.message }
                }
                #expect((error as? RPCError)?.code == .deadlineExceeded, "\(String(describing: error))")
            }
            await client.shutdown()
            await server.stop()
        }

        @Test func serverAnswersDeadlineExceededEvenIfTheHandlerIgnoresCancellation() async throws {
            let server = try await GRPCTestServer.start { router in
                router.handle("Test.Stubborn") { (_: Hello, _: HandlerContext) -> Reply in
                    let end = ContinuousClock.now + .seconds(1)
                    while ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
                    return Reply(message: "late")
                }
            }
            let transport = GRPCClientTransport()
            let start = ContinuousClock.now
            let error = await caught {
                _ = try await transport.call(jsonRequest("Test.Stubborn", #"{"name":"x"}"#, deadline: .now() + .milliseconds(200)), to: server.address)
            }
            #expect(ContinuousClock.now - start < .milliseconds(800))
            let timedOut = (error as? TransportError)?.code == .timeout || (error as? MicroError)?.code == 408
            #expect(timedOut, "\(String(describing: error))")
            await transport.shutdown()
            await server.stop()
        }

        @Test func callerCancellingAStreamCancelsTheHandler() async throws {
            let state = Shared<(started: Bool, cancelled: Bool)>((false, false))
            let server = try await GRPCTestServer.start { router in
                router.handleBidiStream("Test.Wait") { (requests: RequestStream<Hello>, replies: ServerStream<Reply>, _: HandlerContext) in
                    state.update { $0.started = true }
                    do {
                        for try await r in requests { try await replies.send(Reply(message: r.name)) }
                        try await Task.sleep(for: .seconds(10))
                    } catch {
                        state.update { $0.cancelled = Task.isCancelled }
                        throw error
                    }
                }
            }
            let client = try await microClient(addresses: [server.address])
            let stream = try await client.openStream("greeter", "Test.Wait", sending: Hello.self, receiving: Reply.self)
            try await stream.send(Hello(name: "one"))
            #expect(try await stream.receive() == Reply(message: "one"))
            stream.cancel()
            #expect(await eventually { state.value.cancelled })
            await client.shutdown()
            await server.stop()
        }

        @Test func streamDeadlineEndsAStuckStream() async throws {
            let server = try await GRPCTestServer.start { router in
                router.handleBidiStream("Test.Mute") { (requests: RequestStream<Hello>, _: ServerStream<Reply>, _: HandlerContext) in
                    for try await _ in requests {}
                    try await Task.sleep(for: .seconds(10))
                }
            }
            let client = try await microClient(addresses: [server.address])
            var options = client.defaults
            options.streamTimeout = .milliseconds(300)
            let stream = try await client.openStream("greeter", "Test.Mute", sending: Hello.self, receiving: Reply.self, options: options)
            let start = ContinuousClock.now
            let error = await caught { _ = try await stream.receive() }
            #expect(ContinuousClock.now - start < .seconds(2))
            let timedOut = (error as? TransportError)?.code == .timeout || (error as? MicroError)?.code == 408
            #expect(timedOut, "\(String(describing: error))")
            await client.shutdown()
            await server.stop()
        }
    }
}

/// Bytes in, bytes out.
struct RawBytesSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

struct RawBytesDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
