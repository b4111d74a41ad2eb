import Foundation
import MicroTestSupport
#if canImport(Glibc)
import Glibc
#endif
import MicroCore
@testable import MicroGossip
import Testing

/// What the shared registry conformance suite will check of `gossip`: a writer and a reader
/// GossipRegistry on 127.0.0.1, the reader joined to the writer, each behaviour as the suite runs it.
@Suite(.serialized) struct GossipRegistryPairTests {
    struct Pair {
        var writer: GossipRegistry
        var reader: GossipRegistry
        func close() async {
            await writer.shutdown()
            await reader.shutdown()
        }
    }

    /// Made the way the lead's conformance kind will: the public convenience initialiser with default timings.
    static func make() async throws -> Pair {
        let wport = try freeUDPAndTCPPort()
        let rport = try freeUDPAndTCPPort()
        let writer = GossipRegistry(bind: "127.0.0.1:\(wport)", peers: "127.0.0.1:\(rport)")
        let reader = GossipRegistry(bind: "127.0.0.1:\(rport)", peers: "127.0.0.1:\(wport)")
        return Pair(writer: writer, reader: reader)
    }

    static func eventually6(_ condition: () async -> Bool) async -> Bool { await eventually(.seconds(6), condition) }

    @Test func registerGetDeregisterRoundTripsEveryField() async throws {
        let p = try await Self.make()
        let written = record(nodes: ["conf-a"], meta: ["zone": "z1"])
        try await p.writer.register(written, ttl: .seconds(30))
        var seen: [ServiceRecord] = []
        #expect(await Self.eventually6 { seen = (try? await p.reader.getService("conf")) ?? []; return !seen.isEmpty })
        #expect(seen == [written])
        #expect(try await p.reader.getService("nobody-registered-this").isEmpty)
        try await p.writer.deregister(written)
        #expect(await Self.eventually6 { await nodeIDs(p.reader, "conf").isEmpty })
        await p.close()
    }

    @Test func listShowsEveryServiceAndVersionsStayApart() async throws {
        let p = try await Self.make()
        try await p.writer.register(record("alpha", nodes: ["alpha-1"]), ttl: .seconds(30))
        try await p.writer.register(record("beta", version: "1", nodes: ["beta-1"]), ttl: .seconds(30))
        try await p.writer.register(record("beta", version: "2", nodes: ["beta-2"]), ttl: .seconds(30))
        #expect(await Self.eventually6 {
            Set(((try? await p.reader.listServices()) ?? []).map(\.name)).isSuperset(of: ["alpha", "beta"])
        })
        #expect(await Self.eventually6 { ((try? await p.reader.getService("beta")) ?? []).count == 2 })
        #expect(Set(try await p.reader.getService("beta").map(\.version)) == ["1", "2"])
        await p.close()
    }

    @Test func manyNodesRegisteredConcurrentlyAreAllSeen() async throws {
        let p = try await Self.make()
        let ids = (0..<20).map { "many-\($0)" }
        let writer = p.writer
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { try await writer.register(record("many", nodes: [id]), ttl: .seconds(30)) } }
            try await group.waitForAll()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<10 { group.addTask { try await writer.register(record("svc\(i)", nodes: ["svc\(i)-n"]), ttl: .seconds(30)) } }
            try await group.waitForAll()
        }
        let allSeen = await Self.eventually6 { await nodeIDs(p.reader, "many") == Set(ids) }
        let manySeen = await nodeIDs(p.reader, "many").count
        #expect(allSeen, "\(manySeen) of 20")
        #expect(await Self.eventually6 {
            let names = Set(((try? await p.reader.listServices()) ?? []).map(\.name))
            return (0..<10).allSatisfy { names.contains("svc\($0)") }
        })
        await p.close()
    }

    @Test func aNodeWithoutHeartbeatExpiresAfterItsTTLAndOneWithHeartbeatStays() async throws {
        let p = try await Self.make()
        let ttl = Duration.seconds(1)
        try await p.writer.register(record("ttl", nodes: ["ttl-lapsed"]), ttl: ttl)
        try await p.writer.register(record("ttl", nodes: ["ttl-kept"]), ttl: ttl)
        #expect(await Self.eventually6 { await nodeIDs(p.reader, "ttl") == ["ttl-lapsed", "ttl-kept"] })
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .milliseconds(2500) {
            try await p.writer.register(record("ttl", nodes: ["ttl-kept"]), ttl: ttl)
            try await Task.sleep(for: .milliseconds(250))
        }
        let onlyKept = await eventually(.seconds(4)) { await nodeIDs(p.reader, "ttl") == ["ttl-kept"] }
        let left = await nodeIDs(p.reader, "ttl")
        #expect(onlyKept, "\(left)")
        await p.close()
    }

    @Test func watchReportsCreateUpdateDeleteInOrder() async throws {
        let p = try await Self.make()
        let watch = try await p.reader.watch(service: "watched")
        let events = Box<[RegistryEvent]>([])
        let collector = Task {
            do {
                for try await e in watch where e.service.name == "watched" { events.withLock { $0.append(e) } }
            } catch {}
        }
        defer { collector.cancel() }
        try await Task.sleep(for: .milliseconds(200))
        try await p.writer.register(record("watched", nodes: ["w-1"], meta: ["rev": "1"]), ttl: .seconds(30))
        #expect(await Self.eventually6 { events.value.contains { $0.action == .create } }, "no create")
        try await p.writer.register(record("watched", nodes: ["w-1"], meta: ["rev": "2"]), ttl: .seconds(30))
        #expect(await Self.eventually6 { events.value.contains { $0.action == .update } }, "no update: \(events.value)")
        try await p.writer.deregister(record("watched", nodes: ["w-1"]))
        #expect(await Self.eventually6 { events.value.contains { $0.action == .delete } }, "no delete")
        let actions = events.value.map(\.action)
        #expect(actions.first == .create && actions.last == .delete, "\(actions)")
        #expect(events.value.first { $0.action == .update }?.service.nodes.first?.metadata["rev"] == "2")
        await p.close()
    }

    @Test func aReaderStartedBeforeItsSeedFindsItQuickly() async throws {
        let wport = try freeUDPAndTCPPort()
        let reader = GossipRegistry(bind: "127.0.0.1:\(try freeUDPAndTCPPort())", peers: "127.0.0.1:\(wport)")
        try await reader.start()   // its first join found nobody
        let writer = GossipRegistry(bind: "127.0.0.1:\(wport)", peers: "")
        try await writer.register(record("late", nodes: ["late-1"]), ttl: .seconds(30))
        let t0 = ContinuousClock.now
        #expect(await eventually(.seconds(3)) { await nodeIDs(reader, "late") == ["late-1"] })
        print("gossip: a reader joined a seed that started after it in \(ContinuousClock.now - t0)")
        await writer.shutdown()
        await reader.shutdown()
    }

    @Test func aRecordTooBigForAPacketTravelsOverTCP() async throws {
        let p = try await Self.make()
        var big = record("big", nodes: ["big-1"])
        big.metadata["blob"] = String(repeating: "x", count: 5000)
        try await p.writer.register(big, ttl: .seconds(30))
        #expect(await Self.eventually6 { ((try? await p.reader.getService("big")) ?? []) == [big] })
        await p.close()
    }
}

/// A port free for both TCP and UDP on 127.0.0.1.
func freeUDPAndTCPPort() throws -> Int {
    for _ in 0..<50 {
        let p = try freePort()
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(p).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if ok == 0 { return p }
    }
    throw GossipError(.bindFailed, "no free port")
}
