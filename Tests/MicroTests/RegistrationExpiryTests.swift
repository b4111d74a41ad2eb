import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// A process that dies without deregistering leaves its node until the TTL runs out; while it
    /// lives, heartbeats keep the node listed past the TTL.
    @Suite struct RegistrationExpiry {
        @Test func killedGreetersNodeExpiresAfterItsTTL() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let ttl = 2.0, interval = 0.25
            let greeter = try h.start("greeter", environment: ["MICRO_REGISTER_TTL": "\(ttl)", "MICRO_REGISTER_INTERVAL": "\(interval)"])
            let nodes = try await waitForNodes("greeter", in: h.registryDirectory)
            let file = try #require(try FileManager.default.contentsOfDirectory(atPath: h.registryDirectory + "/greeter")
                .first { $0.hasSuffix(".json") })
            let data = try Data(contentsOf: URL(fileURLWithPath: h.registryDirectory + "/greeter/" + file))
            let expires = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["expires"] as? Double)
            let remaining = expires - Date().timeIntervalSince1970
            #expect(remaining > 0 && remaining <= ttl + 0.05, "the node file expires in \(remaining) s, not within the \(ttl) s TTL")

            // Alive for twice the TTL: heartbeats keep it registered.
            try await Task.sleep(for: .seconds(2 * ttl))
            #expect(try await registeredNodes("greeter", in: h.registryDirectory).map(\.id) == nodes.map(\.id),
                    "a live greeter's node lapsed: heartbeats are not keeping it registered")
            #expect(try await registeredNodes(HTTPBroker.serviceName, in: h.registryDirectory).count == 1,
                    "the greeter's subscriber lapsed while it runs")

            let clock = ContinuousClock()
            greeter.kill()
            let killed = clock.now
            #expect(await greeter.waitForExit(timeout: .seconds(5)))
            // kill -9 cannot deregister: the node is still there right after...
            #expect(try await registeredNodes("greeter", in: h.registryDirectory).count == 1,
                    "the node vanished at once after kill -9; expected it to stay until its TTL")
            // ...and gone (for a reader in another process) once the TTL from the last heartbeat passed.
            let gone = try await poll(timeout: .seconds(ttl + 2), interval: .milliseconds(20)) {
                try await registeredNodes("greeter", in: h.registryDirectory).isEmpty
            }
            let took = clock.now - killed
            #expect(gone, "node still listed \(took) after kill -9 with a \(ttl) s TTL")
            // Its broker subscriber (topic `greetings`) registered with the same TTL (on its own
            // heartbeat, so it may lapse a moment later) and goes too.
            let subscriberGone = try await poll(timeout: .seconds(1), interval: .milliseconds(20)) {
                try await registeredNodes(HTTPBroker.serviceName, in: h.registryDirectory).isEmpty
            }
            #expect(subscriberGone, "the killed greeter's subscriber is still registered \(clock.now - killed) after kill -9")
            #expect(took <= .seconds(ttl + 1), "expired only \(took) after kill -9 (TTL \(ttl) s)")
            print("killed greeter's node expired \(took) after kill -9 (TTL \(ttl) s, heartbeat \(interval) s)")
        }

        /// The same semantics without a process: one `LocalRegistry` registers with a 1 s TTL and
        /// stops heartbeating; a second instance on the same directory stops seeing it after expiry.
        @Test func anotherInstanceStopsSeeingAnExpiredRegistration() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let writer = LocalRegistry(directory: h.registryDirectory)
            let reader = LocalRegistry(directory: h.registryDirectory)
            try await writer.register(ServiceRecord(name: "brief", version: "1", nodes: [Node(id: "brief-1", address: "127.0.0.1:1")]),
                                      ttl: .seconds(1))
            #expect(try await reader.getService("brief").flatMap(\.nodes).map(\.id) == ["brief-1"])
            #expect(try await reader.listServices().map(\.name).contains("brief"))
            let gone = try await poll(timeout: .seconds(3), interval: .milliseconds(20)) {
                try await reader.getService("brief").isEmpty
            }
            #expect(gone)
            #expect(try await !reader.listServices().map(\.name).contains("brief"))
        }
    }
}
