import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// The greeter served over gRPC (`MICRO_TRANSPORT=grpc`) and called by the `micro` CLI, which
    /// picks the gRPC transport from the node's `protocol` metadata.
    @Suite struct GRPCFleet {
        @Test func greeterServesOverGRPCAndTheCLICallsAndStreams() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let greeter = try h.start("greeter", environment: ["MICRO_TRANSPORT": "grpc"])
            let nodes = try await waitForNodes("greeter", in: h.registryDirectory)
            #expect(nodes.count == 1)
            #expect(nodes.allSatisfy { $0.metadata["protocol"] == "grpc" && $0.address.hasPrefix("127.0.0.1:") }, "\(nodes)")

            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#])
            #expect(call.status == 0 && call.stdout == "{\"message\":\"Hello Alice\"}\n", "\(call)\n\(greeter.output)")

            let stream = try await h.run("micro", ["stream", "greeter", "Greeter.Countdown", #"{"from":3}"#])
            #expect(stream.status == 0, "\(stream)")
            let ticks = stream.stdout.split(separator: "\n").map { line -> Int? in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["n"] as? Int
            }
            #expect(ticks == [2, 1, 0], "\(stream)")

            let unknown = try await h.run("micro", ["call", "greeter", "Greeter.Nope", "{}"])
            #expect(unknown.status != 0 && unknown.stderr.contains("Nope"), "\(unknown)")

            let health = try await h.run("micro", ["health", "greeter"])
            #expect(health.status == 0 && health.stdout.contains(" ok"), "\(health)")
            #expect(greeter.isRunning, "greeter died: \(greeter.output)")
        }
    }
}
