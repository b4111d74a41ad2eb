import Foundation
import MicroCore
import MicroTestSupport
import NIOConcurrencyHelpers
import Testing
@testable import MicroMDNS

/// Real multicast, only inside network namespaces these tests make (only `lo`), never in the
/// machine's own. Each test makes its namespace, registries configured to open their sockets in it,
/// and deletes it at the end.
@Suite(.serialized) struct MDNSNamespaceTests {
    static func configuration(_ ns: NetworkNamespace) -> MDNSRegistryConfiguration {
        var c = MDNSRegistryConfiguration()
        c.networkNamespace = ns.name
        c.interfaces = ["lo"]
        return c
    }

    static func record(_ name: String = "greeter", version: String = "1.0.0", node: String = "greeter-1", port: Int = 8080,
                       meta: [String: String] = [:]) -> ServiceRecord {
        ServiceRecord(
            name: name, version: version, metadata: ["team": "core"],
            endpoints: [Endpoint(name: "Greeter.Hello", request: Value(name: "Req", type: "Req", values: [Value(name: "name", type: "string")]),
                                 response: Value(name: "Rsp", type: "Rsp"), metadata: ["stream": "false"])],
            nodes: [Node(id: node, address: "127.0.0.1:\(port)", metadata: ["protocol": "mucp"].merging(meta) { $1 })])
    }

    static func eventually(_ timeout: Duration = .seconds(6), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return await condition()
    }

    /// Polls until `registry` sees exactly `ids` of `name`; returns whether it did and what it saw (timed).
    static func waitForNodes(_ registry: MDNSRegistry, _ name: String, _ ids: Set<String>, timeout: Duration) async -> (Bool, [String]) {
        let start = ContinuousClock.now
        var observed: [String] = []
        while true {
            let seen = await nodeIDs(registry, name)
            observed.append("\(ContinuousClock.now - start): \(seen.sorted())")
            if seen == ids { return (true, observed) }
            if ContinuousClock.now - start > timeout { return (false, observed) }
            try? await Task.sleep(for: .milliseconds(25))
        }
    }

    static func nodeIDs(_ r: MDNSRegistry, _ name: String) async -> Set<String> {
        Set(((try? await r.getService(name)) ?? []).flatMap(\.nodes).map(\.id))
    }

    /// Runs `body` with a fresh namespace and two registries in it (separate sockets, as two processes
    /// would have); shuts them down and deletes the namespace whatever happens.
    static func withPair(_ body: (NetworkNamespace, MDNSRegistry, MDNSRegistry) async throws -> Void) async throws {
        let ns = try NetworkNamespace.create()
        let writer = MDNSRegistry(configuration: configuration(ns)), reader = MDNSRegistry(configuration: configuration(ns))
        do {
            try await body(ns, writer, reader)
        } catch {
            await writer.shutdown()
            await reader.shutdown()
            ns.delete()
            throw error
        }
        await writer.shutdown()
        await reader.shutdown()
        ns.delete()
    }

    @Test func twoRegistriesRegisterGetListWatchAndDeregister() async throws {
        try await Self.withPair { _, writer, reader in
            let watch = try await reader.watch(service: "greeter")
            let events = NIOLockedValueBox<[RegistryEvent]>([])
            let collector = Task { do { for try await e in watch { events.withLockedValue { $0.append(e) } } } catch {} }
            defer { collector.cancel() }

            let written = Self.record(meta: ["rev": "1"])
            try await writer.register(written, ttl: .seconds(30))
            var seen: [ServiceRecord] = []
            #expect(await Self.eventually { seen = (try? await reader.getService("greeter")) ?? []; return !seen.isEmpty })
            #expect(seen == [written], "every field survives: \(seen)")
            #expect(try await reader.getService("nobody").isEmpty)
            #expect(await Self.eventually { ((try? await reader.listServices()) ?? []).contains { $0.name == "greeter" } })
            #expect(await Self.eventually { events.withLockedValue { $0.contains { $0.action == .create } } }, "no create")

            try await writer.register(Self.record(meta: ["rev": "2"]), ttl: .seconds(30))
            #expect(await Self.eventually { events.withLockedValue { $0.contains { $0.action == .update && $0.service.nodes.first?.metadata["rev"] == "2" } } },
                    "no update: \(events.withLockedValue { $0 })")

            try await writer.deregister(Self.record())
            #expect(await Self.eventually(.seconds(2)) { events.withLockedValue { $0.last?.action == .delete } }, "no delete: \(events.withLockedValue { $0.map(\.action) })")
            #expect(await Self.nodeIDs(reader, "greeter").isEmpty)
            // The writer sees its own registrations too, as go-micro's does.
            try await writer.register(Self.record("self", node: "self-1"), ttl: .seconds(30))
            #expect(await Self.nodeIDs(writer, "self") == ["self-1"])
            #expect(writer.counters.packetsReceived > 0 && reader.counters.packetsMalformed == 0)
        }
    }

    @Test func aLapsedRegistrationVanishesAndAHeartbeatKeepsOne() async throws {
        try await Self.withPair { _, writer, reader in
            try await writer.register(Self.record("ttl", node: "ttl-lapsed"), ttl: .seconds(1))
            try await writer.register(Self.record("ttl", node: "ttl-kept"), ttl: .seconds(1))
            #expect(await Self.eventually { await Self.nodeIDs(reader, "ttl") == ["ttl-lapsed", "ttl-kept"] })
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .milliseconds(2500) {
                try await writer.register(Self.record("ttl", node: "ttl-kept"), ttl: .seconds(1))
                try await Task.sleep(for: .milliseconds(250))
            }
            let (onlyKept, observed) = await Self.waitForNodes(reader, "ttl", ["ttl-kept"], timeout: .seconds(4))
            #expect(onlyKept, "\(observed.prefix(6))")
            // And it stays while heartbeats continue, across several TTLs.
            for _ in 0..<8 {
                try await writer.register(Self.record("ttl", node: "ttl-kept"), ttl: .seconds(1))
                try await Task.sleep(for: .milliseconds(250))
                #expect(await Self.nodeIDs(reader, "ttl") == ["ttl-kept"])
            }
        }
    }

    @Test func shutdownSendsGoodbyes() async throws {
        let ns = try NetworkNamespace.create()
        defer { ns.delete() }
        let writer = MDNSRegistry(configuration: Self.configuration(ns)), reader = MDNSRegistry(configuration: Self.configuration(ns))
        try await writer.register(Self.record("bye", node: "bye-1"), ttl: nil)
        #expect(await Self.eventually { await Self.nodeIDs(reader, "bye") == ["bye-1"] })
        await writer.shutdown()
        // Without the goodbye the record (TTL 120 s) would stay for two minutes.
        #expect(await Self.eventually(.seconds(2)) { await Self.nodeIDs(reader, "bye").isEmpty })
        await #expect(throws: MDNSError.self) { try await writer.register(Self.record("bye", node: "bye-1"), ttl: nil) }
        await reader.shutdown()
    }

    @Test func manyNodesAndServicesRegisteredConcurrentlyAreAllSeen() async throws {
        try await Self.withPair { _, writer, reader in
            let ids = (0..<20).map { "many-\($0)" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in ids { group.addTask { try await writer.register(Self.record("many", node: id), ttl: .seconds(30)) } }
                for i in 0..<10 { group.addTask { try await writer.register(Self.record("svc\(i)", node: "svc\(i)-n"), ttl: .seconds(30)) } }
                group.addTask { try await writer.register(Self.record("beta", version: "1", node: "beta-1"), ttl: .seconds(30)) }
                group.addTask { try await writer.register(Self.record("beta", version: "2", node: "beta-2"), ttl: .seconds(30)) }
                try await group.waitForAll()
            }
            let allSeen = await Self.eventually { await Self.nodeIDs(reader, "many") == Set(ids) }
            let count = await Self.nodeIDs(reader, "many").count
            #expect(allSeen, "\(count) of 20")
            #expect(await Self.eventually {
                let names = Set(((try? await reader.listServices()) ?? []).map(\.name))
                return (0..<10).allSatisfy { names.contains("svc\($0)") }
            })
            // Versions of one service stay apart.
            #expect(await Self.eventually { ((try? await reader.getService("beta")) ?? []).count == 2 })
            #expect(Set(try await reader.getService("beta").map(\.version)) == ["1", "2"])
        }
    }

    @Test func socketsAreInTheNamespaceAndNoneInTheMachinesOwn() async throws {
        try await Self.withPair { ns, writer, _ in
            try await writer.register(Self.record(), ttl: .seconds(30))
            let pid = ProcessInfo.processInfo.processIdentifier
            let inside = try ns.run(["ss", "-uanp"])
            let ours = inside.split(separator: "\n").filter { $0.contains("pid=\(pid),") }
            #expect(ours.contains { $0.contains("0.0.0.0:5353") }, "\(inside)")
            #expect(ours.count >= 2, "a 5353 socket and a query socket: \(ours)")
            let outside = try ChildProcess.run("/usr/bin/env", ["ss", "-uanp"])
            let leaked = outside.split(separator: "\n").filter { $0.contains("pid=\(pid),") && $0.contains(":5353") }
            #expect(leaked.isEmpty, "5353 sockets of this process in the machine's namespace: \(leaked)")
        }
    }

    @Test func trafficIsCapturedInTheNamespaceAndNotInTheMachinesOwn() async throws {
        let tcpdump = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tcpdump else { throw EngineMissing(description: "tcpdump not found (apt-get install tcpdump)") }
        try await Self.withPair { ns, writer, reader in
            let dir = FileManager.default.temporaryDirectory
            let insideLog = dir.appendingPathComponent("tcpdump-in-\(UUID().uuidString.prefix(6))")
            let outsideLog = dir.appendingPathComponent("tcpdump-out-\(UUID().uuidString.prefix(6))")
            defer { try? FileManager.default.removeItem(at: insideLog); try? FileManager.default.removeItem(at: outsideLog) }
            let inside = try ns.spawn([tcpdump, "-i", "lo", "-n", "-l", "udp", "port", "5353"], output: insideLog)
            // Passive capture on every interface of the machine's namespace: nothing may show up.
            let outside = try SpawnedProcess(tcpdump, ["-i", "any", "-n", "-l", "udp", "port", "5353"], output: outsideLog)
            // With -l every packet line is already written when it is killed.
            defer { inside.kill(); outside.kill() }
            let read = { (u: URL) in (try? String(contentsOf: u, encoding: .utf8)) ?? "" }
            #expect(await Self.eventually(.seconds(5)) { read(insideLog).contains("listening on") && read(outsideLog).contains("listening on") })
            try await writer.register(Self.record(), ttl: .seconds(30))
            #expect(await Self.eventually { await Self.nodeIDs(reader, "greeter") == ["greeter-1"] })
            try await writer.deregister(Self.record())
            try await Task.sleep(for: .milliseconds(500))
            inside.kill()
            outside.kill()
            let packetsInside = read(insideLog).split(separator: "\n").filter { $0.contains("224.0.0.251.5353") }
            let packetsOutside = read(outsideLog).split(separator: "\n").filter { $0.contains(".5353") && !$0.contains("listening on") }
            #expect(packetsInside.count >= 3, "\(read(insideLog))")
            #expect(packetsOutside.isEmpty, "mDNS in the machine's own namespace: \(packetsOutside)")
        }
    }

    @Test func aRegistryWithoutAMulticastInterfaceFailsWithATypedError() async throws {
        let ns = try NetworkNamespace.create()
        defer { ns.delete() }
        var c = Self.configuration(ns)
        c.interfaces = ["eth-does-not-exist"]
        let r = MDNSRegistry(configuration: c)
        await #expect(throws: MDNSError.self) { try await r.getService("x") }
        var d = Self.configuration(ns)
        d.networkNamespace = "micro-no-such-namespace"
        let s = MDNSRegistry(configuration: d)
        do { _ = try await s.listServices(); Issue.record("expected an error") } catch let e as MDNSError {
            #expect(e.code == .networkNamespace)
        }
        await r.shutdown()
        await s.shutdown()
    }
}
