import Foundation
import MicroCore
@testable import MicroGossip
import Testing

@Suite(.serialized) struct GossipClusterTests {
    @Test func fiveNodesConvergeOnMembersAndRecords() async throws {
        let start = ContinuousClock.now
        let first = try await startNode("five-0")
        let seed = try await first.advertisedAddress()
        var nodes = [first]
        for i in 1..<5 { nodes.append(try await startNode("five-\(i)", seeds: [seed])) }
        for (i, n) in nodes.enumerated() { try await n.register(record("svc-\(i)", nodes: ["svc-\(i)-n"]), ttl: .seconds(30)) }
        let names = Set(nodes.map(\.nodeName))
        let converged = await eventually(.seconds(10)) {
            for n in nodes {
                guard await memberNames(n) == names.subtracting([n.nodeName]) else { return false }
                let services = Set(((try? await n.listServices()) ?? []).map(\.name))
                guard services == Set((0..<5).map { "svc-\($0)" }) else { return false }
            }
            return true
        }
        for n in nodes {
            let m = (try? await n.members())?.map(\.description) ?? []
            let s = ((try? await n.listServices()) ?? []).map(\.name)
            if !converged { print("\(n.nodeName): \(m) \(s)") }
        }
        #expect(converged)
        print("gossip: 5 nodes converged in \(ContinuousClock.now - start)")
        // Every record arrives whole.
        let seen = try await nodes[4].getService("svc-0")
        #expect(seen == [record("svc-0", nodes: ["svc-0-n"])])
        for n in nodes { await n.shutdown() }
    }

    @Test func aCrashedNodeIsSuspectedThenDeclaredDeadAndItsRecordsVanish() async throws {
        let first = try await startNode("crash-0")
        let seed = try await first.advertisedAddress()
        var nodes = [first]
        for i in 1..<5 { nodes.append(try await startNode("crash-\(i)", seeds: [seed])) }
        try await nodes[4].register(record("victim", nodes: ["victim-1"]), ttl: nil)
        let others = Array(nodes.prefix(4))
        #expect(await eventually(.seconds(10)) {
            for n in others {
                guard await memberNames(n).count == 4, await nodeIDs(n, "victim") == ["victim-1"] else { return false }
            }
            return true
        })
        let watch = try await nodes[0].watch(service: "victim")
        let deleted = Box<ContinuousClock.Instant?>(nil)
        let watcher = Task {
            do {
                for try await e in watch where e.action == .delete {
                    deleted.withLock { $0 = $0 ?? ContinuousClock.now }
                }
            } catch {}
        }
        // Crash: sockets closed, no leave message.
        let crashedAt = ContinuousClock.now
        await nodes[4].crash()
        var sawSuspect = false
        var deadAt: [String: Duration] = [:]
        var goneAt: [String: Duration] = [:]
        let deadline = crashedAt + .seconds(15)
        while ContinuousClock.now < deadline, deadAt.count < 4 || goneAt.count < 4 {
            for n in others {
                let m = try await n.members().first { $0.name == "crash-4" }
                if m?.state == .suspect { sawSuspect = true }
                if deadAt[n.nodeName] == nil, m == nil || m?.state == .dead { deadAt[n.nodeName] = ContinuousClock.now - crashedAt }
                if goneAt[n.nodeName] == nil, await nodeIDs(n, "victim").isEmpty { goneAt[n.nodeName] = ContinuousClock.now - crashedAt }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        print("gossip failure detection (probe 100 ms, suspicion mult 3): dead at \(deadAt.values.sorted()), records gone at \(goneAt.values.sorted())")
        #expect(sawSuspect)
        #expect(deadAt.count == 4 && goneAt.count == 4)
        #expect(deadAt.values.allSatisfy { $0 < .seconds(5) })
        #expect(await eventually(.seconds(2)) { deleted.value != nil }, "watch saw no delete")
        watcher.cancel()
        for n in others { await n.shutdown() }
    }

    @Test func aCrashIsDetectedInMemberlistTimeWithTheDefaultTimings() async throws {
        func defaults(_ c: inout GossipConfiguration) {
            let port = c.bindPort, name = c.nodeName, seeds = c.seeds
            c = GossipConfiguration()
            c.bindPort = port
            c.nodeName = name
            c.seeds = seeds
        }
        // Each node joins every node before it, so all of them learn it by push-pull at once. Joining
        // only the first leaves the others to hear of it by gossip, whose four transmits per broadcast miss a
        // member in about 1 of 300 runs (simulated); only the push-pull 30 s later would heal that.
        var nodes: [GossipRegistry] = []
        var seeds: [String] = []
        for i in 0..<5 {
            let node = try await startNode("slow-\(i)", seeds: seeds, tune: defaults)
            nodes.append(node)
            seeds.append(try await node.advertisedAddress())
        }
        let others = Array(nodes.prefix(4))
        let joined = await eventually(.seconds(15)) {
            for n in nodes { guard await memberNames(n).count == 4 else { return false } }
            return true
        }
        if !joined {
            for n in nodes { print("\(n.nodeName): \((try? await n.members())?.map(\.description) ?? [])") }
        }
        #expect(joined)
        let crashedAt = ContinuousClock.now
        await nodes[4].crash()
        let detected = await eventually(.seconds(40)) {
            for n in others {
                let s = (try? await n.members())?.first { $0.name == "slow-4" }?.state
                guard s == .dead || s == nil else { return false }
            }
            return true
        }
        #expect(detected)
        print("gossip failure detection with memberlist's LAN defaults (probe 1 s, suspicion mult 4), 5 members: \(ContinuousClock.now - crashedAt)")
        for n in others { await n.shutdown() }
    }

    @Test func aGracefulLeaveIsSeenAsLeftAtOnce() async throws {
        let a = try await startNode("leave-a")
        let b = try await startNode("leave-b", seeds: [try await a.advertisedAddress()])
        try await b.register(record("leaver", nodes: ["l-1"]), ttl: nil)
        #expect(await eventually { await nodeIDs(a, "leaver") == ["l-1"] })
        let t0 = ContinuousClock.now
        await b.shutdown()
        #expect(await eventually(.seconds(2)) { (try? await a.members())?.first { $0.name == "leave-b" }?.state == .left })
        #expect(await nodeIDs(a, "leaver").isEmpty)
        print("gossip: graceful leave seen in \(ContinuousClock.now - t0)")
        // Calls after shutdown fail; a second shutdown is harmless.
        await #expect(throws: GossipError.self) { try await b.register(record("x", nodes: ["x"]), ttl: nil) }
        await b.shutdown()
        // Its sockets are closed: the port can be bound again at once.
        let port = try await a.members().first { $0.name == "leave-b" }.map { Int($0.address.split(separator: ":").last ?? "") ?? 0 } ?? 0
        let again = try await startNode("leave-b2") { $0.bindPort = port }
        #expect(try await again.start() == port)
        await again.shutdown()
        await a.shutdown()
    }

    @Test func aSuspectedNodeRefutesWithAHigherIncarnation() async throws {
        let a = try await startNode("refute-a")
        let b = try await startNode("refute-b", seeds: [try await a.advertisedAddress()])
        #expect(await eventually { await memberNames(a) == ["refute-b"] })
        let before = try await b.members().first { $0.name == "refute-b" }?.incarnation ?? 0
        // a accuses b; b hears it (piggybacked on gossip) and refutes.
        try await a.accuse("refute-b")
        #expect(await eventually(.seconds(3)) {
            let seen = (try? await a.members())?.first { $0.name == "refute-b" }
            return seen?.state == .alive && (seen?.incarnation ?? 0) > before
        })
        await a.shutdown()
        await b.shutdown()
    }

    @Test func whenUDPIsLostTCPPingsKeepMembersAlive() async throws {
        let a = try await startNode("lossy-a")
        let b = try await startNode("lossy-b", seeds: [try await a.advertisedAddress()])
        #expect(await eventually {
            let ma = await memberNames(a), mb = await memberNames(b)
            return ma == ["lossy-b"] && mb == ["lossy-a"]
        })
        // All UDP between them is lost from now on; only memberlist's TCP fallback ping can answer probes.
        try await a.dropOutgoingUDP { _ in true }
        try await b.dropOutgoingUDP { _ in true }
        var states: Set<GossipMemberState> = []
        let until = ContinuousClock.now + .seconds(2)   // 20 probe intervals; UDP alone would declare death in ~0.5 s
        while ContinuousClock.now < until {
            for (r, other) in [(a, "lossy-b"), (b, "lossy-a")] {
                if let s = try await r.members().first(where: { $0.name == other })?.state { states.insert(s) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(states == [.alive], "\(states)")
        await a.shutdown()
        await b.shutdown()
    }

    @Test func invalidAddressesFailEveryCallWithATypedError() async throws {
        let r = GossipRegistry(bind: "127.0.0.1:notaport", peers: "")
        await #expect(throws: GossipError.self) { try await r.listServices() }
        await r.shutdown()
        #expect(throws: GossipError.self) { try GossipConfiguration(bind: "127.0.0.1:99999") }
        let v6 = try GossipAddress.parse("[::1]:80")
        #expect(v6.host == "::1" && v6.port == 80)
        let bare = try GossipAddress.parse("host")
        #expect(bare.host == "host" && bare.port == 7946)
        let port = try GossipAddress.parse("7000")
        #expect(port.host == "127.0.0.1" && port.port == 7000)
        #expect(throws: GossipError.self) { try GossipAddress.parse("::1") }
    }
}
