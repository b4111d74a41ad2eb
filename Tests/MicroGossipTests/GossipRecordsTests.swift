import Foundation
import MicroCore
@testable import MicroGossip
import NIOCore
import MicroTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct GossipRecordsTests {
    typealias Update = GossipRecords.Update

    static func put(_ origin: String, _ seq: UInt64, _ node: String, meta: String = "1", ttl: Int64? = nil) -> Update {
        Update(origin: origin, seq: seq, op: "put", ttlMilliseconds: ttl, service: record("svc", nodes: [node], meta: ["rev": meta]))
    }

    static func delete(_ origin: String, _ seq: UInt64, _ node: String) -> Update {
        Update(origin: origin, seq: seq, op: "delete", ttlMilliseconds: nil, service: record("svc", nodes: [node]))
    }

    static func member(_ name: String) -> GossipMember {
        GossipMember(name: name, address: "127.0.0.1:1", state: .dead, incarnation: 1, tags: [:], versions: [])
    }

    @Test func newerSequencesWinAndDeletesAreRemembered() {
        let r = GossipRecords(selfName: "me", tombstoneLifetime: .seconds(60), logger: .init(label: "t"))
        r.apply([Self.put("o", 10, "n1", meta: "a")])
        r.apply([Self.put("o", 9, "n1", meta: "old")])            // older: ignored
        #expect(r.get("svc").first?.nodes.first?.metadata["rev"] == "a")
        r.apply([Self.put("o", 11, "n1", meta: "b")])
        #expect(r.get("svc").first?.nodes.first?.metadata["rev"] == "b")
        r.apply([Self.delete("o", 12, "n1")])
        #expect(r.get("svc").isEmpty)
        r.apply([Self.put("o", 11, "n1", meta: "b")])            // a late retransmit does not resurrect it
        #expect(r.get("svc").isEmpty)
        r.apply([Self.put("me", 99, "n2")])                        // claims to be from this member: ignored
        #expect(r.get("svc").isEmpty)
    }

    @Test func aDeadOriginTakesItsRecordsAndIsRefusedUntilItRejoins() {
        let r = GossipRecords(selfName: "me", tombstoneLifetime: .seconds(60), logger: .init(label: "t"))
        r.apply([Self.put("o", 1, "n1"), Self.put("p", 1, "n2")])
        #expect(Set(r.get("svc").flatMap(\.nodes).map(\.id)) == ["n1", "n2"])
        r.notifyMembership(.left(Self.member("o")))
        #expect(Set(r.get("svc").flatMap(\.nodes).map(\.id)) == ["n2"])
        r.apply([Self.put("o", 2, "n1")])
        #expect(Set(r.get("svc").flatMap(\.nodes).map(\.id)) == ["n2"])
        r.notifyMembership(.joined(Self.member("o")))
        r.apply([Self.put("o", 3, "n1")])
        #expect(Set(r.get("svc").flatMap(\.nodes).map(\.id)) == ["n1", "n2"])
    }

    @Test func ttlsRunOutOnTheReceiverAndPushPullCarriesWhatIsLeft() throws {
        let r = GossipRecords(selfName: "me", tombstoneLifetime: .seconds(60), logger: .init(label: "t"))
        let now = NIODeadline.now()
        r.apply([Self.put("o", 1, "short", ttl: 100), Self.put("o", 1, "long", ttl: 60_000)], now: now)
        _ = r.registerLocal(record("mine", nodes: ["m1"]), ttl: nil)
        let state = r.localState(join: false)
        #expect(state.first == GossipRecords.serfPushPullType)
        let other = GossipRecords(selfName: "other", tombstoneLifetime: .seconds(60), logger: .init(label: "t"))
        other.mergeRemoteState(state, join: true)
        #expect(Set(other.list().flatMap(\.nodes).map(\.id)) == ["short", "long", "m1"])
        usleep(150_000)
        r.sweep()
        other.sweep()
        #expect(Set(r.get("svc").flatMap(\.nodes).map(\.id)) == ["long"])
        #expect(Set(other.get("svc").flatMap(\.nodes).map(\.id)) == ["long"])
        // serf's own push-pull state (no records) is read for its clock only.
        var serfState: [UInt8] = [2]
        try MessagePack.encode(.map([MessagePackPair(.string("LTime"), .uint(41)), MessagePackPair(.string("Events"), .array([]))]), into: &serfState)
        r.mergeRemoteState(serfState, join: false)
        #expect(r.serfClock == 41)
    }

    @Test func garbageFromTheNetworkLeavesARunningMemberWorking() async throws {
        let a = try await startNode("garbage-a")
        let b = try await startNode("garbage-b", seeds: [try await a.advertisedAddress()])
        let port = try await a.start()
        var rng = SeededGenerator(seed: 7)
        // UDP: random packets and mutated real ones.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let (packets, streams) = try GossipFuzzTests.corpus()
        for i in 0..<2000 {
            let bytes = i % 2 == 0 ? (0..<Int.random(in: 0...1400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                : GossipFuzzTests.mutate(packets[i % packets.count], &rng)
            _ = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                } }
            }
        }
        // TCP: mutated streams, each on its own connection, closed after writing.
        for i in 0..<100 {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if ok == 0 {
                let bytes = GossipFuzzTests.mutate(streams[i % streams.count], &rng)
                _ = bytes.withUnsafeBytes { write(s, $0.baseAddress, $0.count) }
            }
            close(s)
        }
        // Still a working cluster.
        try await b.register(record("after-garbage", nodes: ["ag-1"]), ttl: nil)
        #expect(await eventually(.seconds(5)) { await nodeIDs(a, "after-garbage") == ["ag-1"] })
        // (Mutated alive messages may have added made-up members; the real one is still alive.)
        // (A flood can cost a few acks, so b may be suspected for a moment; it refutes.)
        #expect(await eventually(.seconds(5)) { ((try? await a.members()) ?? []).contains { $0.name == "garbage-b" && $0.state == .alive } })
        await a.shutdown()
        await b.shutdown()
    }

    @Test func shutdownEndsWatchesAndMissedProbesRaiseAwareness() async throws {
        let a = try await startNode("aware-a")
        let b = try await startNode("aware-b", seeds: [try await a.advertisedAddress()])
        #expect(await eventually { await memberNames(b) == ["aware-a"] })
        #expect(a.awareness == 0)
        // Lifeguard: a probe that gets no ack (and no nack) counts against the prober's own health.
        await b.crash()
        #expect(await eventually(.seconds(3)) { a.awareness > 0 })
        let watch = try await a.watch(service: nil)
        let ended = Task { () -> Bool in
            do { for try await _ in watch {} } catch {}
            return true
        }
        await a.shutdown()
        #expect(await ended.value)
        await b.shutdown()
    }
}
