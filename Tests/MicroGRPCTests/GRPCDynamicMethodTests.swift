import Foundation
import MicroCore
import MicroGRPC
import NIOCore
import Testing

extension GRPCTransportSuite {
    /// Calling a gRPC server with JSON through the descriptors its server reflection serves.
    @Suite struct DynamicMethods {
        @Test func aServerWithReflectionIsCalledInProtobufFromJSON() async throws {
            let server = try await GRPCTestServer.start()
            // Registered without endpoints, as a server that is not a Micro service would be.
            let client = try await microClient("greeter", addresses: [server.address])
            let options = client.defaults

            let unary = try #require(try await GRPCDynamicMethod.resolve(client: client, service: "greeter", endpoint: "grpc.testing.TestService.UnaryCall", options: options))
            #expect(unary.method.path == "/grpc.testing.TestService/UnaryCall")
            #expect(unary.options.contentType == "application/protobuf")
            let response = try await client.callRaw("greeter", unary.method.path,
                                                    body: try unary.encodeRequest(#"{"responseSize": 3, "fill_username": true}"#), options: unary.options)
            #expect(try unary.decodeResponse(response.body) == #"{"payload":{"body":"AAAA"}}"#)

            // `Service.Method`: helloworld.Greeter and its go-micro alias greeter.Greeter both match; the alias (the registered name) wins.
            let hello = try #require(try await GRPCDynamicMethod.resolve(client: client, service: "greeter", endpoint: "Greeter.SayHello", options: options))
            #expect(hello.method.path == "/greeter.Greeter/SayHello")
            let reply = try await client.callRaw("greeter", hello.method.path, body: try hello.encodeRequest(#"{"name":"dyn"}"#), options: hello.options)
            #expect(try hello.decodeResponse(reply.body) == #"{"message":"Hello dyn"}"#)

            // Server streaming through the same descriptors.
            let countdown = try #require(try await GRPCDynamicMethod.resolve(client: client, service: "greeter", endpoint: "/helloworld.Greeter/SayHelloStreamReply", options: options))
            let stream = try await client.openStream("greeter", countdown.method.path, sending: ByteBuffer.self, receiving: ByteBuffer.self, options: countdown.options)
            try await stream.send(try countdown.encodeRequest(#"{"name":"s"}"#))
            try await stream.finishSending()
            var lines: [String] = []
            while let m = try await stream.receive() { lines.append(try countdown.decodeResponse(m)) }
            #expect(lines == [#"{"message":"Hello s #0"}"#, #"{"message":"Hello s #1"}"#, #"{"message":"Hello s #2"}"#])

            // Problems are MicroErrors naming what is wrong.
            let unknown = await caught { _ = try await GRPCDynamicMethod.resolve(client: client, service: "greeter", endpoint: "Greeter.Nope", options: options) }
            #expect((unknown as? MicroError)?.code == 404 && (unknown as? MicroError)?.detail.contains("Nope") == true, "\(String(describing: unknown))")
            let noService = await caught { _ = try await GRPCDynamicMethod.resolve(client: client, service: "greeter", endpoint: "Nothing.Here", options: options) }
            #expect((noService as? MicroError)?.code == 404 && (noService as? MicroError)?.detail.contains("helloworld.Greeter") == true, "\(String(describing: noService))")
            let badField = await caught { _ = try hello.encodeRequest(#"{"nam":"x"}"#) }
            #expect((badField as? MicroError)?.code == 400 && (badField as? MicroError)?.detail.contains("\"nam\"") == true, "\(String(describing: badField))")
            let badReply = await caught { _ = try hello.decodeResponse(ByteBuffer(bytes: [0x0A, 0x09, 0x41])) }
            #expect((badReply as? MicroError)?.code == 500, "\(String(describing: badReply))")

            await client.shutdown()
            await server.stop()
        }

        @Test func microServicesAndServersWithoutReflectionAreCalledWithJSONAsUsual() async throws {
            let server = try await GRPCTestServer.start(configuration: GRPCServerConfiguration(reflection: false))
            let client = try await microClient("greeter", addresses: [server.address])
            #expect(try await GRPCDynamicMethod.resolve(client: client, service: "greeter", endpoint: "Greeter.SayHello", options: client.defaults) == nil)
            await client.shutdown()
            await server.stop()

            // A registration listing the endpoint is a Micro service: no reflection is asked.
            let registry = MemoryRegistry()
            try await registry.register(ServiceRecord(name: "listed", endpoints: [Endpoint(name: "Greeter.SayHello")],
                                                      nodes: [Node(id: "n", address: try deadAddress(), metadata: ["protocol": "grpc"])]))
            let listed = Client(registry: registry, transports: [GRPCClientTransport()], broker: MemoryBroker())
            #expect(try await GRPCDynamicMethod.resolve(client: listed, service: "listed", endpoint: "Greeter.SayHello", options: listed.defaults) == nil)
            // An HTTP-only service is not a gRPC node.
            try await registry.register(ServiceRecord(name: "http", nodes: [Node(id: "h", address: try deadAddress())]))
            #expect(try await GRPCDynamicMethod.resolve(client: listed, service: "http", endpoint: "Greeter.SayHello", options: listed.defaults) == nil)
            await listed.shutdown()
        }
    }
}
