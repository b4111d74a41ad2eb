import Foundation
import Micro
import MicroConsul
import MicroEtcd
import MicroGossip
import MicroMDNS
import MicroNATS
import MicroTestSupport
import Testing

/// One set of registry behaviours every registry must show, run against each of them: a writer
/// registers, a separate reader (another instance, connection or process view) sees it.
@Suite(.serialized) struct RegistryConformance {
    /// A writer and a reader on one registry backend, and what to stop afterwards.
    struct Pair: @unchecked Sendable {
        // Safety: `server` is only touched by the test that made the pair.
        var writer: any Registry
        var reader: any Registry
        var server: NATSServerProcess?
        var etcd: EtcdProcess?
        var consul: ConsulFixtureAgent?
        var namespace: NetworkNamespace?
        var directory: URL?

        func close() async {
            if let w = writer as? NATSRegistry { await w.shutdown() }
            if let r = reader as? NATSRegistry { await r.shutdown() }
            if let w = writer as? EtcdRegistry { await w.shutdown() }
            if let r = reader as? EtcdRegistry { await r.shutdown() }
            if let w = writer as? MDNSRegistry { await w.shutdown() }
            if let r = reader as? MDNSRegistry { await r.shutdown() }
            namespace?.delete()
            if let w = writer as? GossipRegistry { await w.shutdown() }
            if let r = reader as? GossipRegistry { await r.shutdown() }
            if let w = writer as? ConsulRegistry { await w.shutdown() }
            if let r = reader as? ConsulRegistry { await r.shutdown() }
            await consul?.stop()
            server?.stop()
            etcd?.stop()
            if let directory { try? FileManager.default.removeItem(at: directory) }
        }
    }

    static let kinds = ["memory", "local", "mdns", "nats", "etcd", "consul", "gossip"]

    static func make(_ kind: String) async throws -> Pair {
        switch kind {
        case "memory":
            let r = MemoryRegistry()
            return Pair(writer: r, reader: r)
        case "local":
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("conformance-\(UUID().uuidString.prefix(8))")
            return Pair(writer: LocalRegistry(directory: dir.path, pollInterval: .milliseconds(50)),
                        reader: LocalRegistry(directory: dir.path, pollInterval: .milliseconds(50)), directory: dir)
        case "nats":
            let server = try await NATSServerProcess()
            var config = NATSRegistryConfiguration()
            config.watchSweepInterval = .milliseconds(100)
            let options = NATSOptions(servers: [server.url])
            return Pair(writer: NATSRegistry(options: options, configuration: config),
                        reader: NATSRegistry(options: options, configuration: config), server: server)
        case "etcd":
            // Writer and reader with clients of their own, as two processes would have.
            let etcd = try await EtcdProcess()
            return Pair(writer: try EtcdRegistry(addresses: etcd.addressList),
                        reader: try EtcdRegistry(addresses: etcd.addressList), etcd: etcd)
        case "mdns":
            // Multicast only inside a network namespace that has only `lo` (INFRA.md); the sockets are
            // made there, the test process stays where it is.
            let namespace = try NetworkNamespace.create()
            var c = MDNSRegistryConfiguration()
            c.networkNamespace = namespace.name
            return Pair(writer: MDNSRegistry(configuration: c), reader: MDNSRegistry(configuration: c), namespace: namespace)
        case "gossip":
            // Two members of one cluster (memberlist's default timings), each joining the other.
            let (a, b) = (try freePort(), try freePort())
            return Pair(writer: GossipRegistry(bind: "127.0.0.1:\(a)", peers: "127.0.0.1:\(b)"),
                        reader: GossipRegistry(bind: "127.0.0.1:\(b)", peers: "127.0.0.1:\(a)"))
        case "consul":
            // No Consul agent can run here: a fixture agent written from Consul's HTTP API documentation.
            let agent = try await ConsulFixtureAgent()
            return Pair(writer: ConsulRegistry(addresses: agent.address), reader: ConsulRegistry(addresses: agent.address), consul: agent)
        default:
            throw EngineMissing(description: "no registry \(kind)")
        }
    }

    static func record(_ name: String = "conf", version: String = "1.0.0", nodes: [String], meta: [String: String] = [:]) -> ServiceRecord {
        ServiceRecord(
            name: name, version: version, metadata: ["team": "core"],
            endpoints: [Endpoint(name: "Conf.Hello", request: Value(name: "Req", type: "Req", values: [Value(name: "name", type: "string")]),
                                 response: Value(name: "Rsp", type: "Rsp"), metadata: ["stream": "false"])],
            nodes: nodes.map { Node(id: $0, address: "127.0.0.1:8080", metadata: ["protocol": "mucp"].merging(meta) { $1 }) })
    }

    /// The node ids the reader sees for `name`, across versions.
    static func nodeIDs(_ registry: any Registry, _ name: String) async -> Set<String> {
        Set(((try? await registry.getService(name)) ?? []).flatMap(\.nodes).map(\.id))
    }

    static func eventually(_ timeout: Duration = .seconds(6), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return await condition()
    }

    @Test(arguments: kinds) func registerGetDeregisterRoundTripsEveryField(_ kind: String) async throws {
        let p = try await Self.make(kind)
        let written = Self.record(nodes: ["conf-a"], meta: ["zone": "z1"])
        try await p.writer.register(written, ttl: .seconds(30))
        var seen: [ServiceRecord] = []
        #expect(await Self.eventually { seen = (try? await p.reader.getService("conf")) ?? []; return !seen.isEmpty }, "\(kind)")
        #expect(seen == [written], "\(kind): \(seen)")
        #expect(try await p.reader.getService("nobody-registered-this").isEmpty)
        try await p.writer.deregister(written)
        #expect(await Self.eventually { await Self.nodeIDs(p.reader, "conf").isEmpty }, "\(kind): still there after deregister")
        await p.close()
    }

    @Test(arguments: kinds) func listShowsEveryServiceAndVersionsStayApart(_ kind: String) async throws {
        let p = try await Self.make(kind)
        try await p.writer.register(Self.record("alpha", nodes: ["alpha-1"]), ttl: .seconds(30))
        try await p.writer.register(Self.record("beta", version: "1", nodes: ["beta-1"]), ttl: .seconds(30))
        try await p.writer.register(Self.record("beta", version: "2", nodes: ["beta-2"]), ttl: .seconds(30))
        #expect(await Self.eventually {
            let names = Set(((try? await p.reader.listServices()) ?? []).map(\.name))
            return names.isSuperset(of: ["alpha", "beta"])
        }, "\(kind)")
        #expect(await Self.eventually { ((try? await p.reader.getService("beta")) ?? []).count == 2 }, "\(kind)")
        let versions = Set(try await p.reader.getService("beta").map(\.version))
        #expect(versions == ["1", "2"], "\(kind)")
        await p.close()
    }

    @Test(arguments: kinds) func manyNodesRegisteredConcurrentlyAreAllSeen(_ kind: String) async throws {
        let p = try await Self.make(kind)
        let ids = (0..<20).map { "many-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { try await p.writer.register(Self.record("many", nodes: [id]), ttl: .seconds(30)) } }
            try await group.waitForAll()
        }
        // Concurrent registrations of different services too.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<10 { group.addTask { try await p.writer.register(Self.record("svc\(i)", nodes: ["svc\(i)-n"]), ttl: .seconds(30)) } }
            try await group.waitForAll()
        }
        let allSeen = await Self.eventually { await Self.nodeIDs(p.reader, "many") == Set(ids) }
        let manySeen = await Self.nodeIDs(p.reader, "many").count
        #expect(allSeen, "\(kind): \(manySeen) of 20")
        #expect(await Self.eventually {
            let names = Set(((try? await p.reader.listServices()) ?? []).map(\.name))
            return (0..<10).allSatisfy { names.contains("svc\($0)") }
        }, "\(kind)")
        await p.close()
    }

    @Test(arguments: kinds) func aNodeWithoutHeartbeatExpiresAfterItsTTLAndOneWithHeartbeatStays(_ kind: String) async throws {
        let p = try await Self.make(kind)
        let ttl = Duration.seconds(1)
        try await p.writer.register(Self.record("ttl", nodes: ["ttl-lapsed"]), ttl: ttl)
        try await p.writer.register(Self.record("ttl", nodes: ["ttl-kept"]), ttl: ttl)
        #expect(await Self.eventually { await Self.nodeIDs(p.reader, "ttl") == ["ttl-lapsed", "ttl-kept"] }, "\(kind)")
        // Heartbeat one node for 2.5 s (2.5 TTLs); the other lapses.
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(2500) {
            try await p.writer.register(Self.record("ttl", nodes: ["ttl-kept"]), ttl: ttl)
            try await Task.sleep(for: .milliseconds(250))
        }
        let onlyKept = await Self.eventually(.seconds(4)) { await Self.nodeIDs(p.reader, "ttl") == ["ttl-kept"] }
        let left = await Self.nodeIDs(p.reader, "ttl")
        #expect(onlyKept, "\(kind): \(left)")
        await p.close()
    }

    @Test(arguments: kinds) func watchReportsCreateUpdateDeleteInOrder(_ kind: String) async throws {
        let p = try await Self.make(kind)
        let watch = try await p.reader.watch(service: "watched")
        let events = Locked<[RegistryEvent]>([])
        let collector = Task {
            do {
                for try await e in watch where e.service.name == "watched" {
                    events.withLock { $0.append(e) }
                }
            } catch {}
        }
        defer { collector.cancel() }
        try await Task.sleep(for: .milliseconds(200))
        try await p.writer.register(Self.record("watched", nodes: ["w-1"], meta: ["rev": "1"]), ttl: .seconds(30))
        #expect(await Self.eventually { events.withLock { $0.contains { $0.action == .create } } }, "\(kind): no create")
        try await p.writer.register(Self.record("watched", nodes: ["w-1"], meta: ["rev": "2"]), ttl: .seconds(30))
        #expect(await Self.eventually { events.withLock { $0.contains { $0.action == .update } } }, "\(kind): no update: \(events.withLock { $0 })")
        try await p.writer.deregister(Self.record("watched", nodes: ["w-1"]))
        #expect(await Self.eventually { events.withLock { $0.contains { $0.action == .delete } } }, "\(kind): no delete")
        let actions = events.withLock { $0.map(\.action) }
        #expect(actions.first == .create && actions.last == .delete, "\(kind): \(actions)")
        let update = events.withLock { $0.first { $0.action == .update } }
        #expect(update?.service.nodes.first?.metadata["rev"] == "2", "\(kind): \(String(describing: update))")
        await p.close()
    }
}
