import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// SIGTERM (or `stop()`): deregister at once, finish the calls in flight, exit cleanly.
    @Suite struct GracefulShutdown {
        @Test func sigtermDeregistersAtOnceAndExitsZero() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let greeter = try h.start("greeter")
            let nodes = try await waitForNodes("greeter", in: h.registryDirectory)
            let call = try await h.run("micro", ["call", "greeter", "Greeter.Hello", #"{"name":"before"}"#])
            #expect(call.status == 0, "\(call)")

            let clock = ContinuousClock()
            let sent = clock.now
            greeter.signal(SIGTERM)
            let exited = await greeter.waitForExit(timeout: .seconds(5))
            let took = clock.now - sent
            #expect(exited, "greeter still running 5 s after SIGTERM; output:\n\(greeter.output)")
            guard exited else { return }
            #expect(greeter.exitedNormally && greeter.terminationStatus == 0,
                    "greeter ended with \(greeter.exitedNormally ? "status" : "signal") \(greeter.terminationStatus): \(greeter.output)")
            // Read once, right away: the registration's TTL is 90 s, so an absent node was deregistered.
            let after = try await registeredNodes("greeter", in: h.registryDirectory)
            #expect(after.isEmpty, "still registered after SIGTERM: \(after)")
            let files = (try? FileManager.default.contentsOfDirectory(atPath: h.registryDirectory + "/greeter")) ?? []
            #expect(!files.contains { $0.hasSuffix(".json") }, "node file left behind: \(files) (node \(nodes[0].id))")
            #expect(greeter.output.contains("service stopped"), "\(greeter.output)")
            print("greeter exited \(took) after SIGTERM")
        }

        struct SlowRequest: Codable, Sendable { var milliseconds: Int }
        struct SlowReply: Codable, Sendable { var slept: Int }

        /// The greeter has no slow endpoint, so this runs a `Service` in this process: stop it while a
        /// call is in the handler, and the call still succeeds while the node leaves the registry first.
        @Test func callInFlightDuringStopSucceeds() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let directory = h.registryDirectory
            let service = try MicroService(
                name: "slowpoke", version: "1",
                options: ServiceOptions(address: "127.0.0.1:0", drainTimeout: .seconds(5)),
                environment: MicroEnvironment([:]), registry: LocalRegistry(directory: directory), broker: MemoryBroker())
            let (entered, enteredContinuation) = AsyncStream<Void>.makeStream()
            service.handle("Slow.Sleep") { (request: SlowRequest, _) in
                enteredContinuation.yield()
                try await Task.sleep(for: .milliseconds(request.milliseconds))
                return SlowReply(slept: request.milliseconds)
            }
            let running = Task { try await service.run() }
            defer { service.stop(); running.cancel() }
            try await waitForNodes("slowpoke", in: directory)

            let client = Client(registry: LocalRegistry(directory: directory), transports: [HTTPClientTransport()], broker: MemoryBroker())
            defer { Task { await client.shutdown() } }
            let finished = Locked(false)
            let call = Task {
                defer { finished.withLock { $0 = true } }
                return try await client.call("slowpoke", "Slow.Sleep", SlowRequest(milliseconds: 1500), as: SlowReply.self)
            }
            defer { call.cancel() }
            _ = try await bounded("handler entered", within: .seconds(5)) {
                for await _ in entered { return true }
                return false
            }
            service.stop()

            // Deregistered while the call is still in the handler.
            let gone = try await poll(timeout: .seconds(1), interval: .milliseconds(10)) {
                try await registeredNodes("slowpoke", in: directory).isEmpty
            }
            #expect(gone, "node still registered after stop()")
            #expect(!finished.value, "the call ended before deregistration was seen; the test proves nothing")

            let reply = try await bounded("call in flight", within: .seconds(10)) { try await call.value }
            #expect(reply.slept == 1500)
            try await bounded("run() after stop()", within: .seconds(10)) { try await running.value }
        }
    }
}
