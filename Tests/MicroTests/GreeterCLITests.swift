import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// The greeter example and the `micro` CLI as a user runs them: two processes finding each other
    /// through the local registry.
    @Suite struct GreeterCLI {
        @Test func greeterRegistersAndTheCLIReachesEveryKindOfEndpoint() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let greeter = try h.start("greeter")
            let nodes = try await waitForNodes("greeter", in: h.registryDirectory)
            #expect(nodes.count == 1)
            #expect(nodes.allSatisfy { $0.address.hasPrefix("127.0.0.1:") }, "nodes must advertise loopback: \(nodes)")

            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#])
            #expect(call.status == 0 && call.exited, "\(call)")
            #expect(call.stdout == "{\"message\":\"Hello Alice\"}\n", "\(call)")

            let stream = try await h.run("micro", ["stream", "greeter", "Greeter.Countdown", #"{"from":3}"#])
            #expect(stream.status == 0, "\(stream)")
            let ticks = stream.stdout.split(separator: "\n").map { line -> Int? in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["n"] as? Int
            }
            #expect(ticks == [2, 1, 0], "\(stream)")
            // Straight to the node's address, as to a server no registry lists; one line per message.
            let direct = try await h.run("micro", ["stream", "--address", try #require(nodes.first).address, "greeter", "Greeter.Countdown", #"{"from":2}"#])
            #expect(direct.status == 0 && direct.stdout == "{\"n\":1}\n{\"n\":0}\n", "\(direct)")

            let publish = try await h.run("micro", ["publish", "greetings", #"{"text":"hi"}"#])
            #expect(publish.status == 0, "\(publish)")
            let received = await greeter.waitForOutput(containing: "received greeting: hi\n", timeout: .seconds(5))
            #expect(received, "greeter never printed the greeting; its output:\n\(greeter.output)")

            let health = try await h.run("micro", ["health", "greeter"])
            #expect(health.status == 0, "\(health)")
            #expect(health.stdout.contains(" ok"), "\(health)")

            let services = try await h.run("micro", ["services"])
            #expect(services.status == 0, "\(services)")
            #expect(services.stdout.split(separator: "\n").contains("greeter"), "\(services)")

            let describe = try await h.run("micro", ["describe", "greeter"])
            #expect(describe.status == 0, "\(describe)")
            let records = try JSONDecoder().decode([ServiceRecord].self, from: Data(describe.stdout.utf8))
            let hello = records.flatMap(\.endpoints).first { $0.name == "Greeter.Hello" }
            #expect(hello != nil, "\(describe)")
            #expect(hello?.request?.values.map(\.name) == ["name"], "\(describe)")
            #expect(records.flatMap(\.nodes).map(\.id) == nodes.map(\.id))
            #expect(greeter.isRunning, "greeter died: \(greeter.output)")
        }
    }
}
