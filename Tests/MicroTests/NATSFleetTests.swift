import Foundation
import Micro
import MicroTestSupport
import Testing

extension IntegrationTests {
    /// The greeter and the `micro` CLI with NATS as registry, broker and transport, chosen only by
    /// `MICRO_*` variables: services open no port and find each other through a real nats-server.
    @Suite struct NATSFleet {
        @Test func greeterServesOverNATSAndTheCLIReachesEveryKindOfEndpoint() async throws {
            let nats = try await NATSServerProcess()
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let env = [
                "MICRO_REGISTRY": "nats", "MICRO_REGISTRY_ADDRESS": nats.url,
                "MICRO_BROKER": "nats", "MICRO_BROKER_ADDRESS": nats.url,
                "MICRO_TRANSPORT": "nats", "MICRO_TRANSPORT_ADDRESS": nats.url,
            ]
            let greeter = try h.start("greeter", environment: env)

            // Registered through NATS: `micro describe` (a NATS registry query) finds one node whose
            // address is a NATS subject, not a host:port.
            var records: [ServiceRecord] = []
            let found = await poll(timeout: .seconds(15), interval: .milliseconds(200)) {
                guard let d = try? await h.run("micro", ["describe", "greeter"], environment: env), d.status == 0 else { return false }
                records = (try? JSONDecoder().decode([ServiceRecord].self, from: Data(d.stdout.utf8))) ?? []
                return !records.flatMap(\.nodes).isEmpty
            }
            #expect(found, "greeter never appeared in the NATS registry; its output:\n\(greeter.output)")
            let nodes = records.flatMap(\.nodes)
            #expect(nodes.count == 1)
            #expect(nodes.allSatisfy { $0.metadata["protocol"] == "nats" && !$0.address.contains(":") }, "\(nodes)")
            #expect(records.flatMap(\.endpoints).contains { $0.name == "Greeter.Hello" })

            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Alice"}"#], environment: env)
            #expect(call.status == 0 && call.stdout == "{\"message\":\"Hello Alice\"}\n", "\(call)")

            // A CLI that only chose the NATS registry still calls a NATS node (the client speaks every transport).
            let registryOnly = ["MICRO_REGISTRY": "nats", "MICRO_REGISTRY_ADDRESS": nats.url, "MICRO_TRANSPORT_ADDRESS": nats.url]
            let call2 = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"Bob"}"#], environment: registryOnly)
            #expect(call2.status == 0 && call2.stdout == "{\"message\":\"Hello Bob\"}\n", "\(call2)")

            let stream = try await h.run("micro", ["stream", "greeter", "Greeter.Countdown", #"{"from":3}"#], environment: env)
            #expect(stream.status == 0, "\(stream)")
            let ticks = stream.stdout.split(separator: "\n").map { line -> Int? in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["n"] as? Int
            }
            #expect(ticks == [2, 1, 0], "\(stream)")

            let publish = try await h.run("micro", ["publish", "greetings", #"{"text":"over nats"}"#], environment: env)
            #expect(publish.status == 0, "\(publish)")
            let received = await greeter.waitForOutput(containing: "received greeting: over nats\n", timeout: .seconds(5))
            #expect(received, "greeter never printed the greeting; its output:\n\(greeter.output)")

            let health = try await h.run("micro", ["health", "greeter"], environment: env)
            #expect(health.status == 0 && health.stdout.contains(" ok"), "\(health)")

            let services = try await h.run("micro", ["services"], environment: env)
            #expect(services.stdout.split(separator: "\n").contains("greeter"), "\(services)")

            let unknown = try await h.run("micro", ["call", "greeter", "Greeter.Nope", "{}"], environment: env)
            #expect(unknown.status != 0 && unknown.stderr.contains("Greeter.Nope"), "\(unknown)")

            // SIGTERM: the greeter deregisters through NATS and exits 0.
            greeter.signal(SIGTERM)
            #expect(await greeter.waitForExit(timeout: .seconds(10)))
            #expect(greeter.exitedNormally && greeter.terminationStatus == 0, "\(greeter.output)")
            let gone = await poll(timeout: .seconds(5), interval: .milliseconds(200)) {
                let d = try? await h.run("micro", ["services"], environment: env)
                return d.map { !$0.stdout.split(separator: "\n").contains("greeter") } ?? false
            }
            #expect(gone, "greeter still listed after a graceful stop")
        }
    }
}
