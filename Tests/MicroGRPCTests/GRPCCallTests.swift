import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import MicroCore
import MicroGRPC
import NIOCore
import Testing

extension GRPCTransportSuite {
    /// Unary and streaming calls through GRPCServerTransport: Micro's client (JSON and protobuf)
    /// and a native grpc-swift-2 client, on the proto path and on go-micro's alias.
    @Suite struct GRPCCallTests {
        @Test func microClientCallsCodableEndpointWithJSON() async throws {
            let server = try await GRPCTestServer.start()
            let client = try await microClient(addresses: [server.address])
            let reply: Reply = try await client.call("greeter", "Test.Hello", Hello(name: "Alice"))
            #expect(reply == Reply(message: "Hello Alice"))
            await client.shutdown()
            await server.stop()
        }

        @Test func microClientCallsProtobufEndpointWithEitherContentType() async throws {
            let server = try await GRPCTestServer.start()
            for contentType in ["application/protobuf", "application/json", "application/grpc+proto", "application/grpc+json"] {
                let client = try await microClient(addresses: [server.address], contentType: contentType)
                let reply: Helloworld_HelloReply = try await client.call("greeter", "Greeter.SayHello", hello("Bob"))
                #expect(reply.message == "Hello Bob", "\(contentType)")
                await client.shutdown()
            }
            await server.stop()
        }

        @Test func microClientStreamsEveryWay() async throws {
            let server = try await GRPCTestServer.start()
            let client = try await microClient(addresses: [server.address])
            var ticks: [Int] = []
            for try await tick in client.stream("greeter", "Test.Countdown", Count(from: 4), of: Tick.self) { ticks.append(tick.n) }
            #expect(ticks == [3, 2, 1, 0])

            let sum = try await client.openStream("greeter", "Test.Sum", sending: Tick.self, receiving: Tick.self)
            for n in 1...10 { try await sum.send(Tick(n: n)) }
            try await sum.finishSending()
            #expect(try await sum.receive() == Tick(n: 55))
            #expect(try await sum.receive() == nil)

            let echo = try await client.openStream("greeter", "Test.Echo", sending: Hello.self, receiving: Reply.self)
            for name in ["a", "b", "c"] {
                try await echo.send(Hello(name: name))
                #expect(try await echo.receive() == Reply(message: name))
            }
            try await echo.finishSending()
            #expect(try await echo.receive() == nil)
            await client.shutdown()
            await server.stop()
        }

        @Test func nativeClientCallsProtoPathAndAlias() async throws {
            let server = try await GRPCTestServer.start()
            try await withNativeClient(server.address) { client in
                let greeter = Helloworld_Greeter.Client(wrapping: client)
                #expect(try await greeter.sayHello(hello("native")).message == "Hello native")
                // go-micro's alias: the same method under the registered service name.
                let alias = MethodDescriptor(fullyQualifiedService: "greeter.Greeter", method: "SayHello")
                let reply = try await client.unary(request: ClientRequest(message: hello("alias")), descriptor: alias,
                                                   serializer: ProtobufSerializer<Helloworld_HelloRequest>(),
                                                   deserializer: ProtobufDeserializer<Helloworld_HelloReply>(),
                                                   options: .defaults) { try $0.message }
                #expect(reply.message == "Hello alias")
                let streamed = try await greeter.sayHelloStreamReply(hello("s")) { response in
                    var all: [String] = []
                    for try await m in response.messages { all.append(m.message) }
                    return all
                }
                #expect(streamed == ["Hello s #0", "Hello s #1", "Hello s #2"])
                let joined = try await greeter.sayHelloClientStream(requestProducer: { writer in
                    try await writer.write(contentsOf: [hello("x"), hello("y")])
                })
                #expect(joined.message == "Hello x, y")
                let bidi = try await greeter.sayHelloBidiStream(requestProducer: { writer in
                    try await writer.write(contentsOf: [hello("1"), hello("2")])
                }) { response in
                    var all: [String] = []
                    for try await m in response.messages { all.append(m.message) }
                    return all
                }
                #expect(bidi == ["Hello 1", "Hello 2"])
            }
            await server.stop()
        }

        @Test func unknownServiceAndMethodAreUnimplemented() async throws {
            let server = try await GRPCTestServer.start()
            try await withNativeClient(server.address) { client in
                for (service, method, text) in [("nope.Greeter", "SayHello", "unknown service nope.Greeter"),
                                                ("helloworld.Greeter", "Nope", "unknown method Nope"),
                                                ("other.Greeter", "SayHello", "unknown service")] {
                    let error = await caught {
                        _ = try await client.unary(request: ClientRequest(message: hello("x")),
                                                   descriptor: MethodDescriptor(fullyQualifiedService: service, method: method),
                                                   serializer: ProtobufSerializer<Helloworld_HelloRequest>(),
                                                   deserializer: ProtobufDeserializer<Helloworld_HelloReply>(),
                                                   options: .defaults) { try $0.message }
                    }
                    let rpc = try #require(error as? RPCError)
                    #expect(rpc.code == .unimplemented)
                    #expect(rpc.message.contains(text), "\(rpc.message)")
                }
            }
            await server.stop()
        }

        @Test func endpointRegisteredAfterListeningAnswers() async throws {
            let server = try await GRPCTestServer.start()
            server.router.handle("Late.Hello") { (req: Hello, _) in Reply(message: "late \(req.name)") }
            try await Task.sleep(for: .milliseconds(150))
            let client = try await microClient(addresses: [server.address])
            let reply: Reply = try await client.call("greeter", "Late.Hello", Hello(name: "x"))
            #expect(reply.message == "late x")
            await client.shutdown()
            await server.stop()
        }
    }
}
