import Foundation
import Micro
import Testing

extension IntegrationTests {
    /// kill -9 one of two greeters while eight callers keep calling: the client's retry on the other
    /// node covers every call, including those in flight on the killed one.
    @Suite struct KillUnderLoad {
        /// Counts attempts per node address, passing calls through to the real transport.
        final class CountingTransport: ClientTransport {
            struct Tally: Sendable { var ok = 0; var failed = 0 }
            let inner: any ClientTransport
            let tallies = Locked<[String: Tally]>([:])
            init(_ inner: any ClientTransport) { self.inner = inner }
            var protocolName: String { inner.protocolName }
            func call(_ request: RPCRequest, to address: String) async throws -> RPCResponse {
                do {
                    let r = try await inner.call(request, to: address)
                    tallies.withLock { $0[address, default: Tally()].ok += 1 }
                    return r
                } catch {
                    tallies.withLock { $0[address, default: Tally()].failed += 1 }
                    throw error
                }
            }
            func openStream(_ request: RPCRequest, to address: String) async throws -> any ClientStreamChannel {
                try await inner.openStream(request, to: address)
            }
            func shutdown() async { await inner.shutdown() }
        }

        /// What the callers saw.
        struct Outcome: Sendable {
            var before = 0  // ended before the kill
            var spanning = 0  // started before the kill, ended after it
            var after = 0  // started after the kill
            var failures: [String] = []
        }

        @Test func killNineOneOfTwoNodesLosesNoCall() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let victim = try h.start("greeter", label: "greeter-a")
            let survivor = try h.start("greeter", label: "greeter-b")
            try await waitForNodes("greeter", count: 2, in: h.registryDirectory)
            let victimAddress = try #require(try await Self.address(of: victim), "greeter-a never logged its address: \(victim.output)")
            let survivorAddress = try #require(try await Self.address(of: survivor), "greeter-b never logged its address: \(survivor.output)")

            let counting = CountingTransport(HTTPClientTransport())
            let client = Client(registry: LocalRegistry(directory: h.registryDirectory), transports: [counting], broker: MemoryBroker())
            defer { Task { await client.shutdown() } }
            // Both nodes serve before the load starts.
            for address in [victimAddress, survivorAddress] {
                var options = CallOptions()
                options.address = address
                let reply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: "warm"), as: HelloReply.self, options: options)
                #expect(reply.message == "Hello warm")
            }
            let warm = counting.tallies.value
            counting.tallies.withLock { $0 = [:] }
            #expect(warm[victimAddress]?.ok == 1 && warm[survivorAddress]?.ok == 1)

            let clock = ContinuousClock()
            let start = clock.now
            let loadFor: Duration = .seconds(3), killAfter: Duration = .seconds(1)
            let callers = 8, maxCallsPerCaller = 20_000
            let killedAt = Locked<ContinuousClock.Instant?>(nil)
            let outcome = Locked(Outcome())
            let survivorOKAtKill = Locked(0)
            try await bounded("load with kill -9", within: .seconds(30)) {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try? await Task.sleep(until: start + killAfter, clock: clock)
                        survivorOKAtKill.withLock { $0 = counting.tallies.value[survivorAddress]?.ok ?? 0 }
                        victim.kill()
                        killedAt.withLock { $0 = clock.now }
                    }
                    for caller in 0..<callers {
                        group.addTask {
                            var n = 0
                            while clock.now < start + loadFor && n < maxCallsPerCaller {
                                n += 1
                                let name = "c\(caller)-\(n)"
                                let startedAfterKill = killedAt.value != nil
                                do {
                                    let reply = try await client.call("greeter", "Greeter.Hello", HelloRequest(name: name), as: HelloReply.self)
                                    let endedAfterKill = killedAt.value != nil
                                    outcome.withLock { o in
                                        if reply.message != "Hello \(name)" { o.failures.append("\(name): wrong reply \(reply.message)") }
                                        if startedAfterKill { o.after += 1 } else if endedAfterKill { o.spanning += 1 } else { o.before += 1 }
                                    }
                                } catch {
                                    outcome.withLock { $0.failures.append("\(name) (\(startedAfterKill ? "after" : "before") kill): \(error)") }
                                }
                            }
                        }
                    }
                }
            }
            let exited = await victim.waitForExit(timeout: .seconds(5))
            #expect(exited && !victim.exitedNormally, "greeter-a was not killed")

            let o = outcome.value
            let t = counting.tallies.value
            let victimT = t[victimAddress] ?? .init(), survivorT = t[survivorAddress] ?? .init()
            print("""
                kill -9 under load (\(callers) callers, \(loadFor), kill at \(killAfter)): \
                calls ok before kill \(o.before), spanning the kill \(o.spanning), after kill \(o.after), failed \(o.failures.count); \
                attempts: killed node ok \(victimT.ok) failed \(victimT.failed), \
                surviving node ok \(survivorT.ok) (\(survivorOKAtKill.value) before the kill) failed \(survivorT.failed)
                """)
            #expect(o.failures.isEmpty, "\(o.failures.count) failed calls, first: \(o.failures.prefix(5))")
            #expect(o.before > 0 && o.after > 0, "load too thin to mean anything: \(o)")
            #expect(victimT.ok > 0, "the killed node served nothing before the kill: \(t)")
            #expect(survivorT.failed == 0, "the surviving node failed calls: \(t)")
            #expect(survivorT.ok > survivorOKAtKill.value, "the surviving node served nothing after the kill")
            #expect(survivor.isRunning, "greeter-b died: \(survivor.output)")
        }

        /// A queue group (`greeter`) with one member killed -9: every message still reaches the
        /// other member exactly once, and the publisher should not be told it failed.
        @Test func publishToAQueueGroupWithAKilledMember() async throws {
            let h = try ProcessHarness()
            defer { h.cleanup() }
            let victim = try h.start("greeter", label: "greeter-a")
            let survivor = try h.start("greeter", label: "greeter-b")
            try await waitForNodes("greeter", count: 2, in: h.registryDirectory)
            try await waitForNodes(HTTPBroker.serviceName, count: 2, in: h.registryDirectory)
            victim.kill()
            #expect(await victim.waitForExit(timeout: .seconds(5)))

            let registry = LocalRegistry(directory: h.registryDirectory)
            let broker = HTTPBroker(registry: registry)
            let client = Client(registry: registry, transports: [HTTPClientTransport()], broker: broker)
            let messages = 10
            var errors: [String] = []
            for i in 0..<messages {
                do {
                    try await bounded("publish \(i)", within: .seconds(15)) {
                        try await client.publish("greetings", ["text": "after-kill-\(i)"])
                    }
                } catch { errors.append("\(error)") }
            }
            await client.shutdown()
            await broker.shutdown()
            let delivered = await poll(timeout: .seconds(5)) {
                (0..<messages).allSatisfy { survivor.output.contains("received greeting: after-kill-\($0)\n") }
            }
            #expect(delivered, "not every message reached the surviving member: \(survivor.output)")
            let copies = survivor.output.components(separatedBy: "received greeting: after-kill-").count - 1
            #expect(copies == messages, "\(copies) deliveries for \(messages) messages")
            // A queue member that failed is not a failed publish when another member took the message.
            #expect(errors.count == 0, "\(errors.count) of \(messages) publishes reported failure, first: \(errors.first ?? "")")
        }

        /// The address a greeter logged on start (`address=127.0.0.1:PORT`).
        static func address(of greeter: ManagedProcess) async throws -> String? {
            var found: String?
            _ = await poll(timeout: .seconds(10)) {
                let output = greeter.output
                guard let r = output.range(of: "address=") else { return false }
                found = String(output[r.upperBound...].prefix { !$0.isWhitespace })
                return true
            }
            return found
        }
    }
}
