import Foundation
import GRPCCore
import MicroCore
import MicroGRPC
import NIOCore
import Testing

extension GRPCTransportSuite {
    /// Peers no one here wrote: Python grpcio calls the Swift service through gRPC's interop cases,
    /// grpcurl lists and describes it through reflection, and a Swift Micro client calls a Python
    /// grpcio server found through the registry.
    @Suite struct GRPCInteropTests {
        static let cases = ["empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "empty_stream",
                            "custom_metadata", "status_code_and_message", "unimplemented_method", "unimplemented_service",
                            "cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server",
                            "greeter_paths", "health", "reflection"]

        @Test func pythonGrpcioClientPassesTheInteropCases() async throws {
            let python = try await Peers.python()
            InteropTestService.cancellations.withLockedValue { $0 = [] }
            let server = try await GRPCTestServer.start()
            let result = try await Peers.run(python, [Peers.script("interop_client.py"), server.address], timeout: .seconds(120))
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.last == "DONE", "stderr: \(result.stderr)")
            for name in Self.cases {
                let line = lines.first { $0 == "PASS \(name)" || $0.hasPrefix("FAIL \(name):") }
                #expect(line == "PASS \(name)", "\(line ?? "\(name) did not run")")
            }
            // The server saw the caller's cancellations and deadline as task cancellation.
            let cancelled = InteropTestService.cancellations.withLockedValue { $0 }
            #expect(cancelled.contains("StreamingInputCall"), "\(cancelled)")
            #expect(cancelled.contains("FullDuplexCall"), "\(cancelled)")
            await server.stop()
        }

        @Test func grpcurlListsAndDescribesThroughReflection() async throws {
            let grpcurl = try Peers.grpcurl()
            let server = try await GRPCTestServer.start()
            let list = try await Peers.run(grpcurl, ["-plaintext", server.address, "list"], timeout: .seconds(30))
            let services = Set(list.stdout.split(separator: "\n").map(String.init))
            for s in ["helloworld.Greeter", "greeter.Greeter", "grpc.testing.TestService", "grpc.health.v1.Health",
                      "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"] {
                #expect(services.contains(s), "\(s) not in \(services) \(list.stderr)")
            }
            let describe = try await Peers.run(grpcurl, ["-plaintext", server.address, "describe", "helloworld.Greeter"], timeout: .seconds(30))
            #expect(describe.stdout.contains("rpc SayHello ( .helloworld.HelloRequest ) returns ( .helloworld.HelloReply );"), "\(describe.stdout) \(describe.stderr)")
            #expect(describe.stdout.contains("rpc SayHelloBidiStream ( stream .helloworld.HelloRequest ) returns ( stream .helloworld.HelloReply );"))
            let message = try await Peers.run(grpcurl, ["-plaintext", server.address, "describe", "helloworld.HelloRequest"], timeout: .seconds(30))
            #expect(message.stdout.contains("string name = 1;"), "\(message.stdout) \(message.stderr)")
            // And calls it, converting JSON through the descriptors it fetched.
            let call = try await Peers.run(grpcurl, ["-plaintext", "-d", #"{"name":"curl"}"#, server.address, "helloworld.Greeter/SayHello"],
                                           timeout: .seconds(30))
            #expect(call.stdout.contains(#""message": "Hello curl""#), "\(call.stdout) \(call.stderr)")
            let alias = try await Peers.run(grpcurl, ["-plaintext", "-d", #"{"name":"alias"}"#, server.address, "greeter.Greeter/SayHello"],
                                            timeout: .seconds(30))
            #expect(alias.stdout.contains(#""message": "Hello alias""#), "\(alias.stdout) \(alias.stderr)")
            let health = try await Peers.run(grpcurl, ["-plaintext", server.address, "grpc.health.v1.Health/Check"], timeout: .seconds(30))
            #expect(health.stdout.contains(#""status": "SERVING""#), "\(health.stdout) \(health.stderr)")
            await server.stop()
        }

        @Test func swiftClientCallsAPythonGrpcioServerFoundThroughTheRegistry() async throws {
            let python = try await Peers.python()
            let peer = try PeerProcess(python, [Peers.script("greeter_server.py")])
            let port = try #require(await peer.line(startingWith: "PORT "), "python server did not start: \(peer.stderr)")
            let address = "127.0.0.1:\(port)"
            // Registered under its proto package, `Greeter.SayHello` is the proto path itself.
            let client = try await microClient("helloworld", addresses: [address], contentType: "application/protobuf", retries: 0)
            let reply: Helloworld_HelloReply = try await client.call("helloworld", "Greeter.SayHello", hello("swift"))
            #expect(reply.message.hasPrefix("Hello swift from python (deadline "), "\(reply.message)")
            // grpc-timeout arrived: the Python handler saw the 5 s deadline.
            #expect(!reply.message.contains("deadline none"))

            // Under another name, the endpoint names the proto path.
            let other = try await microClient("py-greeter", addresses: [address], contentType: "application/protobuf", retries: 0)
            for endpoint in ["helloworld.Greeter.SayHello", "/helloworld.Greeter/SayHello"] {
                let r: Helloworld_HelloReply = try await other.call("py-greeter", endpoint, hello("path"))
                #expect(r.message.hasPrefix("Hello path from python"), "\(endpoint)")
            }

            // Streams of every kind.
            var streamed: [String] = []
            for try await r in client.stream("helloworld", "Greeter.SayHelloStreamReply", hello("s"), of: Helloworld_HelloReply.self) {
                streamed.append(r.message)
            }
            #expect(streamed == ["Hello s #0", "Hello s #1", "Hello s #2"])
            let up = try await client.openStream("helloworld", "Greeter.SayHelloClientStream", sending: Helloworld_HelloRequest.self,
                                                 receiving: Helloworld_HelloReply.self)
            for n in ["a", "b", "c"] { try await up.send(hello(n)) }
            try await up.finishSending()
            #expect(try await up.receive()?.message == "Hello a, b, c")
            let bidi = try await client.openStream("helloworld", "Greeter.SayHelloBidiStream", sending: Helloworld_HelloRequest.self,
                                                   receiving: Helloworld_HelloReply.self)
            for n in ["x", "y"] {
                try await bidi.send(hello(n))
                #expect(try await bidi.receive()?.message == "Hello \(n)")
            }
            try await bidi.finishSending()
            #expect(try await bidi.receive() == nil)

            // A status from the Python server becomes a MicroError.
            let error = await caught { let _: Helloworld_HelloReply = try await client.call("helloworld", "Greeter.SayHello", hello("error")) }
            #expect(error as? MicroError == MicroError(id: "go.micro.client", code: 400, detail: "bad name"), "\(String(describing: error))")

            // Metadata both ways.
            var options = client.defaults
            options.metadata = ["X-Echo": "ping"]
            let raw = try await client.callRaw("helloworld", "Greeter.SayHello", body: try ProtobufCodec().encode(hello("m")), options: options)
            #expect(raw.metadata["x-echo"] == "ping")
            #expect(raw.metadata["x-echo-trailer"] == "ping")

            // The caller's deadline bounds a sleeping server.
            options = client.defaults
            options.timeout = .milliseconds(500)
            let start = ContinuousClock.now
            let timeout = await caught { let _: Helloworld_HelloReply = try await client.call("helloworld", "Greeter.SayHello", hello("sleep"), options: options) }
            #expect((timeout as? MicroError)?.code == 408, "\(String(describing: timeout))")
            #expect(ContinuousClock.now - start < .seconds(2))

            // A reply over the 4 MiB limit is refused.
            let big = await caught { let _: Helloworld_HelloReply = try await client.call("helloworld", "Greeter.SayHello", hello("big:5000000")) }
            #expect((big as? MicroError)?.code == 413, "\(String(describing: big))")
            let fits: Helloworld_HelloReply = try await client.call("helloworld", "Greeter.SayHello", hello("big:3000000"))
            #expect(fits.message.count == 3_000_000)

            await client.shutdown()
            await other.shutdown()
            await peer.stop()
        }
    }
}
