import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import MicroCore
import MicroGRPC
import NIOCore
import Testing

extension GRPCTransportSuite {
    /// How failures cross gRPC: WIRE.md's code table, the MicroError intact for Micro callers, the
    /// exact status an RPCError names, transport failures the client can retry elsewhere.
    @Suite struct GRPCErrorTests {
        static let conflict = MicroError(id: "test.custom", code: 409, detail: "already there: \"x\" / y")
        static let teapot = MicroError(id: "pot", code: 418, detail: "short and stout", status: "I'm a teapot")

        static func server() async throws -> GRPCTestServer {
            try await GRPCTestServer.start { router in
                router.handle("Test.Fail") { (_: Hello, _: HandlerContext) -> Reply in throw GRPCErrorTests.conflict }
                router.handle("Test.Teapot") { (_: Hello, _: HandlerContext) -> Reply in throw GRPCErrorTests.teapot }
                router.handle("Test.Code") { (req: Count, _: HandlerContext) -> Reply in
                    throw MicroError(id: "coded", code: Int32(req.from), detail: "code \(req.from)")
                }
                router.handle("Test.Crash") { (_: Hello, _: HandlerContext) -> Reply in
                    struct Oops: Error {}
                    throw Oops()
                }
            }
        }

        @Test func microClientGetsTheHandlersErrorIntact() async throws {
            let server = try await Self.server()
            let client = try await microClient(addresses: [server.address], retries: 0)
            for (endpoint, expected) in [("Test.Fail", Self.conflict), ("Test.Teapot", Self.teapot)] {
                let error = await caught { let _: Reply = try await client.call("greeter", endpoint, Hello(name: "a")) }
                #expect(error as? MicroError == expected, "got \(String(describing: error))")
            }
            let crash = await caught { let _: Reply = try await client.call("greeter", "Test.Crash", Hello(name: "a")) }
            #expect((crash as? MicroError)?.code == 500)
            #expect((crash as? MicroError)?.id == "greeter")
            // The connection is still good.
            let reply: Reply = try await client.call("greeter", "Test.Hello", Hello(name: "b"))
            #expect(reply.message == "Hello b")
            await client.shutdown()
            await server.stop()
        }

        static let table: [(Int32, RPCError.Code)] = [
            (400, .invalidArgument), (401, .unauthenticated), (403, .permissionDenied), (404, .notFound),
            (408, .deadlineExceeded), (409, .alreadyExists), (412, .failedPrecondition), (500, .internalError),
            (501, .unimplemented), (503, .unavailable), (413, .resourceExhausted), (418, .unknown),
        ]

        @Test func everyCodeOfTheTableCrossesBothWays() async throws {
            let server = try await Self.server()
            let throwing = MethodDescriptor(fullyQualifiedService: "test.Codes", method: "Throw", type: .unary)
            server.router.handle(throwing) { (req: Helloworld_HelloRequest, _: HandlerContext) -> Helloworld_HelloReply in
                throw MicroError(id: "coded", code: Int32(req.name) ?? 0, detail: "code \(req.name)")
            }
            try await withNativeClient(server.address) { client in
                for (code, expected) in Self.table {
                    let error = await caught {
                        _ = try await client.unary(request: ClientRequest(message: hello("\(code)")), descriptor: throwing,
                                                   serializer: ProtobufSerializer<Helloworld_HelloRequest>(),
                                                   deserializer: ProtobufDeserializer<Helloworld_HelloReply>(),
                                                   options: .defaults) { try $0.message }
                    }
                    let rpc = try #require(error as? RPCError, "\(code)")
                    #expect(rpc.code == expected, "\(code)")
                    #expect(GRPCStatusMapping.microError(status: Status(code: Status.Code(rpc.code), message: rpc.message), trailers: rpc.metadata)
                        == MicroError(id: "coded", code: code, detail: "code \(code)"))
                }
            }
            let client = try await microClient(addresses: [server.address], contentType: "application/protobuf", retries: 0)
            for (code, expected) in Self.table {
                let error = await caught { let _: Helloworld_HelloReply = try await client.call("greeter", "Codes.Throw", hello("\(code)")) }
                #expect(error as? MicroError == MicroError(id: "coded", code: code, detail: "code \(code)"), "\(code): \(String(describing: error))")
                #expect(GRPCStatusMapping.code(for: MicroError(id: "", code: code, detail: "")) == expected)
            }
            await client.shutdown()
            await server.stop()
        }

        @Test func nativeClientGetsStatusMessageAsJSONAndDetailsAsGoMicroError() async throws {
            let server = try await Self.server()
            try await withNativeClient(server.address) { client in
                let error = await caught { _ = try await Helloworld_Greeter.Client(wrapping: client).sayHello(hello("")) }
                let rpc = try #require(error as? RPCError)
                #expect(rpc.code == .invalidArgument)
                #expect(MicroError.parse(rpc.message) == MicroError.badRequest("greeter", "name is required"))
                let details = try #require(rpc.metadata[binaryValues: GRPCStatusMapping.detailsKey].first(where: { _ in true }))
                let status = try Google_Rpc_Status(serializedBytes: details)
                #expect(status.code == Int32(RPCError.Code.invalidArgument.rawValue))
                #expect(status.details.first?.typeURL == "type.googleapis.com/errors.Error")
                let detail = try Errors_Error(serializedBytes: Array(status.details[0].value))
                #expect(detail.id == "greeter" && detail.code == 400 && detail.detail == "name is required" && detail.status == "Bad Request")
            }
            await server.stop()
        }

        @Test func rpcErrorFromAProtobufHandlerKeepsItsExactStatus() async throws {
            let server = try await Self.server()
            try await withNativeClient(server.address) { client in
                let error = await caught { _ = try await Helloworld_Greeter.Client(wrapping: client).sayHello(hello("fail")) }
                let rpc = try #require(error as? RPCError)
                #expect(rpc.code == .failedPrecondition)
                #expect(rpc.message == "no greeting for fail")
            }
            let client = try await microClient(addresses: [server.address], contentType: "application/protobuf", retries: 0)
            let error = await caught { let _: Helloworld_HelloReply = try await client.call("greeter", "Greeter.SayHello", hello("fail")) }
            #expect(error as? MicroError == MicroError(id: "greeter", code: 412, detail: "no greeting for fail"))
            await client.shutdown()
            await server.stop()
        }

        @Test func statusWithoutMicroErrorMapsBackByCode() {
            let plain = GRPCStatusMapping.microError(status: Status(code: .notFound, message: "no such thing"), trailers: [:])
            #expect(plain == MicroError(id: "go.micro.client", code: 404, detail: "no such thing"))
            let json = GRPCStatusMapping.microError(status: Status(code: .internalError, message: Self.conflict.json), trailers: [:])
            #expect(json == Self.conflict)
            let (status, trailers) = GRPCStatusMapping.status(for: Self.teapot)
            #expect(status.code == .unknown)
            #expect(GRPCStatusMapping.microError(status: Status(code: .unknown, message: "lost"), trailers: trailers) == Self.teapot)
            #expect(GRPCStatusMapping.microError(status: Status(code: .unavailable, message: ""), trailers: [:]).code == 503)
        }

        @Test func unreachableNodeIsConnectFailedAndTheClientTriesAnother() async throws {
            let server = try await Self.server()
            let dead = try deadAddress()
            let transport = GRPCClientTransport()
            let error = await caught {
                _ = try await transport.call(jsonRequest("Test.Hello", #"{"name":"x"}"#, deadline: .now() + .seconds(5)), to: dead)
            }
            #expect((error as? TransportError)?.code == .connectFailed, "\(String(describing: error))")
            await transport.shutdown()
            // With a dead and a live node, every call lands (one retry is enough).
            let client = try await microClient(addresses: [dead, server.address], retries: 1)
            for i in 0..<6 {
                let reply: Reply = try await client.call("greeter", "Test.Hello", Hello(name: "\(i)"))
                #expect(reply.message == "Hello \(i)")
            }
            await client.shutdown()
            await server.stop()
        }

        @Test func connectionLostMidCallIsConnectionClosed() async throws {
            let started = Shared(false)
            let server = try await GRPCTestServer.start { router in
                router.handle("Test.Hang") { (_: Hello, _: HandlerContext) -> Reply in
                    started.update { $0 = true }
                    try await Task.sleep(for: .seconds(30))
                    return Reply(message: "late")
                }
            }
            let transport = GRPCClientTransport()
            let call = Task {
                try await transport.call(jsonRequest("Test.Hang", #"{"name":"x"}"#, deadline: .now() + .seconds(20)), to: server.address)
            }
            #expect(await eventually { started.value })
            await server.stop(gracePeriod: .milliseconds(50))
            let result = await call.result
            guard case .failure(let error) = result else { Issue.record("call succeeded"); return }
            let retryable = (error as? TransportError)?.code == .connectionClosed || (error as? MicroError)?.code == 503
            #expect(retryable, "\(error)")
            await transport.shutdown()
        }
    }
}
