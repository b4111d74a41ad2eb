import Foundation
import Micro
import MicroTestSupport
import Testing

extension IntegrationTests {
    /// `micro call` and `micro stream` against a gRPC server that is not a Micro service (Python
    /// grpcio, binary protobuf only, reflection v1alpha only): JSON in and out, converted through the
    /// descriptors its reflection serves.
    @Suite struct GRPCReflectionCLI {
        static let server = BuiltProducts.packageRoot.appendingPathComponent("Tests/MicroGRPCTests/python/greeter_server.py")

        @Test func theCLICallsAPythonGrpcioServerWithJSON() async throws {
            let python = try testPython()
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let peer = try h.start(executable: URL(fileURLWithPath: python), [Self.server.path], label: "python-greeter", holdingStdin: true)
            #expect(await peer.waitForOutput(containing: "PORT ", timeout: .seconds(30)), "\(peer.output)")
            let port = try #require(peer.output.split(separator: "\n").first { $0.hasPrefix("PORT ") }.map { String($0.dropFirst(5)) })
            try await LocalRegistry(directory: h.registryDirectory).register(
                ServiceRecord(name: "pygreeter", version: "1", nodes: [Node(id: "pygreeter-1", address: "127.0.0.1:\(port)", metadata: ["protocol": "grpc"])]),
                ttl: .seconds(60))

            for endpoint in ["Greeter.SayHello", "helloworld.Greeter.SayHello", "/helloworld.Greeter/SayHello"] {
                let call = try await h.run("micro", ["call", "pygreeter", endpoint, #"{"name":"Alice"}"#])
                #expect(call.status == 0 && call.stderr.isEmpty, "\(call)")
                #expect(call.stdout.hasPrefix(#"{"message":"Hello Alice from python (deadline "#) && call.stdout.hasSuffix(")\"}\n"), "\(call)")
            }

            let stream = try await h.run("micro", ["stream", "pygreeter", "Greeter.SayHelloStreamReply", #"{"name":"s"}"#])
            #expect(stream.status == 0, "\(stream)")
            #expect(stream.stdout == "{\"message\":\"Hello s #0\"}\n{\"message\":\"Hello s #1\"}\n{\"message\":\"Hello s #2\"}\n", "\(stream)")

            // A status from the server, an unknown method and a field the request lacks: one line each, non-zero exit.
            let failed = try await h.run("micro", ["call", "pygreeter", "Greeter.SayHello", #"{"name":"error"}"#])
            #expect(failed.status == 1 && failed.stdout.isEmpty && failed.stderrLines.count == 1 && failed.stderr.contains("bad name"), "\(failed)")
            let unknown = try await h.run("micro", ["call", "pygreeter", "Greeter.Nope", "{}"])
            #expect(unknown.status == 1 && unknown.stdout.isEmpty && unknown.stderrLines.count == 1, "\(unknown)")
            #expect(unknown.stderr.contains("unknown method Nope") && unknown.stderr.contains("SayHello"), "\(unknown)")
            let badField = try await h.run("micro", ["call", "pygreeter", "Greeter.SayHello", #"{"nam":"x"}"#])
            #expect(badField.status == 1 && badField.stderrLines.count == 1 && badField.stderr.contains(#"unknown field \"nam\""#), "\(badField)")
            #expect(peer.isRunning, "the python server died: \(peer.output)")
        }
    }
}
